//go:build unix

package optim

import (
	"errors"
	"os"
	"syscall"
)

// renameOpenTemp: SaveFile renames its temporary file while it is still open, and
// so still locked.
const renameOpenTemp = true

// lockTemp takes a non-blocking exclusive flock on SaveFile's new temporary file,
// held until SaveFile closes it, so that another SaveFile's cleanup
// (removeIfAbandoned) leaves the file alone while this one writes it; the kernel
// drops the lock when the process dies, which is what marks a leftover. It
// reports false when the file is no longer this SaveFile's to use: a cleanup
// holds the lock, or has removed the file already. Where the file system has no
// flock, the file is used unlocked.
func lockTemp(f *os.File, name string) bool {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	for errors.Is(err, syscall.EINTR) {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(name)
	return err == nil && os.SameFile(fi, now)
}

// removeIfAbandoned removes name if no process holds its lock: the SaveFile that
// created it has died.
func removeIfAbandoned(name string) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return // a SaveFile is writing it, or the lock cannot be told: leave it
	}
	os.Remove(name)
}
