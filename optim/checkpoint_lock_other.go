//go:build !unix

package optim

import "os"

// renameOpenTemp: SaveFile closes its temporary file before renaming it, since
// Windows cannot rename a file that is open.
const renameOpenTemp = false

// lockTemp uses no lock. On Windows, Go opens files without FILE_SHARE_DELETE, so
// a file that a SaveFile holds open cannot be removed, which keeps
// removeIfAbandoned off it.
func lockTemp(f *os.File, name string) bool { return true }

// removeIfAbandoned removes name; see lockTemp.
func removeIfAbandoned(name string) { os.Remove(name) }
