package optim

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"unsafe"

	"github.com/goptim/goptim/binding"
)

// Checkpoint format, version 1. All integers little-endian.
//
//	magic    8 bytes  "GOPTIMCK"
//	version  uint32   1
//	hlen     uint32   length of the header
//	header   hlen bytes of JSON (checkpointHeader)
//	hcrc     uint32   CRC-32C of header
//	payload  the state tensors as float32: for each group, each param, each state
//	         slot in use (goptim.h's order), numel values; header.payload_bytes long
//	pcrc     uint32   CRC-32C of payload
//	trailer  8 bytes  "GOPTEND\x00"
//
// The header names the optimizer, each group's config (torch's option names as JSON
// fields of the Go config), its state tensors and each param's name, length and step
// count. Loading checks everything before it changes anything.
const (
	checkpointMagic   = "GOPTIMCK"
	checkpointTrailer = "GOPTEND\x00"
	checkpointVersion = 1
	// maxHeader bounds the header so a corrupt length cannot make Load allocate GBs.
	maxHeader = 1 << 28
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type checkpointHeader struct {
	Format       string            `json:"format"`
	Version      int               `json:"version"`
	Optimizer    string            `json:"optimizer"`
	Backend      string            `json:"backend"`
	PayloadBytes int64             `json:"payload_bytes"`
	Groups       []checkpointGroup `json:"groups"`
	// LBFGS is L-BFGS's own part (lbfgsCheckpoint), kept raw here so that every
	// optimizer reads its checkpoint through readCheckpoint.
	LBFGS json.RawMessage `json:"lbfgs,omitempty"`
	// Extra is an optimizer's own part (extension.saveExtra): Schedule-Free's mode.
	Extra json.RawMessage `json:"extra,omitempty"`
}

type checkpointGroup struct {
	Config json.RawMessage          `json:"config"`
	State  [binding.MaxState]string `json:"state"`
	Params []checkpointParam        `json:"params"`
}

type checkpointParam struct {
	Name  string `json:"name"`
	Numel int    `json:"numel"`
	Step  int64  `json:"step"`
	// Scalars are the optimizer's per-param host values (NAdam's mu_product, ASGD's
	// eta and mu, Schedule-Free's weight_sum and lr_max) of a param that has stepped;
	// JSON keeps float32 and float64 exactly.
	Scalars map[string]float64 `json:"scalars,omitempty"`
	// Shape is the param's Shape for optimizers that read it (Adafactor), whose state
	// layout follows it.
	Shape []int `json:"shape,omitempty"`
}

// CheckpointError describes why a checkpoint was refused.
type CheckpointError struct{ Reason string }

func (e *CheckpointError) Error() string { return "optim: bad checkpoint: " + e.Reason }

// Is makes errors.Is(err, ErrCheckpoint) true.
func (e *CheckpointError) Is(target error) bool { return target == ErrCheckpoint }

func badCheckpoint(format string, a ...any) error {
	return &CheckpointError{Reason: fmt.Sprintf(format, a...)}
}

// Save writes the optimizer's state — every group's hyperparameters, every param's
// step count and state tensors — to w in goptim's checkpoint format (version 1,
// checksummed). It does not save the params themselves.
func (c *core[C]) Save(w io.Writer) error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("optim: %s: Save: %w", c.spec.kind, ErrClosed)
	}
	ctx, err := engine()
	if err != nil {
		return err
	}
	h := checkpointHeader{Format: "goptim-checkpoint", Version: checkpointVersion, Optimizer: c.spec.kind,
		Backend: Backend()}
	for _, g := range c.groups {
		raw, err := json.Marshal(g.cfg)
		if err != nil {
			return err
		}
		cg := checkpointGroup{Config: raw, State: c.spec.slots(g.cfg)}
		for i, p := range g.params {
			cp := checkpointParam{Name: p.Name, Numel: g.numel[i], Step: g.steps[i]}
			if c.spec.shaped {
				cp.Shape = g.shape[i]
			}
			if g.steps[i] > 0 && len(c.spec.scalarNames) > 0 {
				cp.Scalars = map[string]float64{}
				for k, name := range c.spec.scalarNames {
					cp.Scalars[name] = g.sc[i][k]
				}
			}
			cg.Params = append(cg.Params, cp)
			for k, name := range cg.State {
				if name != "" {
					h.PayloadBytes += 4 * int64(g.slen[k][i])
				}
			}
		}
		h.Groups = append(h.Groups, cg)
	}
	if c.ext != nil {
		if h.Extra, err = c.ext.saveExtra(); err != nil {
			return err
		}
	}
	cw, err := startCheckpoint(w, h)
	if err != nil {
		return err
	}
	for _, g := range c.groups {
		for i := range g.params {
			for k, t := range g.state {
				if t == nil {
					continue
				}
				buf := make([]float32, g.slen[k][i])
				if err := ctx.CopyToHost(buf, g.stateAt(k, i)); err != nil {
					return err
				}
				if err := cw.payload(buf); err != nil {
					return fmt.Errorf("optim: %s: Save: state %s: %w", c.spec.kind, c.spec.slots(g.cfg)[k], err)
				}
			}
		}
	}
	return cw.finish()
}

// checkpointWriter writes one checkpoint in the format above: startCheckpoint writes the
// preamble and the checksummed header, payload each piece of the payload (checksummed as
// it goes), finish the payload's checksum and the trailer.
type checkpointWriter struct {
	w   io.Writer
	crc uint32
}

func startCheckpoint(w io.Writer, h checkpointHeader) (*checkpointWriter, error) {
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var pre bytes.Buffer
	pre.WriteString(checkpointMagic)
	binary.Write(&pre, binary.LittleEndian, uint32(checkpointVersion))
	binary.Write(&pre, binary.LittleEndian, uint32(len(hdr)))
	pre.Write(hdr)
	binary.Write(&pre, binary.LittleEndian, crc32.Checksum(hdr, castagnoli))
	if _, err := w.Write(pre.Bytes()); err != nil {
		return nil, err
	}
	return &checkpointWriter{w: w}, nil
}

func (cw *checkpointWriter) payload(v []float32) error {
	b := float32Bytes(v)
	cw.crc = crc32.Update(cw.crc, castagnoli, b)
	_, err := cw.w.Write(b)
	return err
}

func (cw *checkpointWriter) finish() error {
	var post [12]byte
	binary.LittleEndian.PutUint32(post[:4], cw.crc)
	copy(post[4:], checkpointTrailer)
	_, err := cw.w.Write(post[:])
	return err
}

// float32Bytes is the little-endian byte image of v (the machine's order on every
// platform goptim supports; checked at init).
func float32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func init() {
	x := uint32(1)
	if *(*byte)(unsafe.Pointer(&x)) != 1 {
		panic("goptim: big-endian machines are not supported")
	}
}

// Load restores state written by Save into this optimizer. The optimizer must have
// the same kind, groups, params (in order, same lengths; names too where both sides
// have one) and state tensors. Hyperparameters are restored too, as torch's
// load_state_dict does. On any error — truncation, a checksum mismatch, another
// version or optimizer, a shape mismatch — the optimizer is left exactly as it was.
//
// Load reads exactly the checkpoint's bytes from r, up to its trailer, and no
// further: a stream may carry more after it (another optimizer's checkpoint, the
// model's weights), which the caller reads next. Only the caller knows whether more
// may follow, so Load does not look; LoadFile, whose file holds one checkpoint,
// refuses a file with bytes after the trailer.
func (c *core[C]) Load(r io.Reader) error {
	if c == nil {
		return errNoCore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("optim: %s: Load: %w", c.spec.kind, ErrClosed)
	}
	h, payload, err := readCheckpoint(r)
	if err != nil {
		return err
	}
	if h.Optimizer != c.spec.kind {
		// %q: the name comes from the file and may be anything.
		return badCheckpoint("it holds optimizer %q, this is %q", h.Optimizer, c.spec.kind)
	}
	if len(h.Groups) != len(c.groups) {
		return badCheckpoint("it has %d param groups, the optimizer %d", len(h.Groups), len(c.groups))
	}
	cfgs := make([]C, len(c.groups))
	var want int64
	for gi, g := range c.groups {
		hg := h.Groups[gi]
		dec := json.NewDecoder(bytes.NewReader(hg.Config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfgs[gi]); err != nil {
			return badCheckpoint("group %d config: %v", gi, err)
		}
		if err := c.spec.validate(cfgs[gi]); err != nil {
			return badCheckpoint("group %d config: %v", gi, err)
		}
		if slots := c.spec.slots(cfgs[gi]); slots != hg.State || slots != c.spec.slots(g.cfg) {
			// All three layouts are named: when the file's config is at fault, the
			// layout the file holds and the optimizer's are equal, and only the third
			// differs.
			return badCheckpoint("group %d: its config needs state %q, it holds %q, the optimizer keeps %q",
				gi, slots, hg.State, c.spec.slots(g.cfg))
		}
		if len(hg.Params) != len(g.params) {
			return badCheckpoint("group %d has %d params, the optimizer %d", gi, len(hg.Params), len(g.params))
		}
		for i, hp := range hg.Params {
			p := g.params[i]
			if hp.Numel != g.numel[i] {
				return badCheckpoint("group %d param %d (%q) has %d elements, the optimizer's %s has %d",
					gi, i, hp.Name, hp.Numel, p.label(i), g.numel[i])
			}
			if hp.Name != "" && p.Name != "" && hp.Name != p.Name {
				return badCheckpoint("group %d param %d is %q, the optimizer's is %q", gi, i, hp.Name, p.Name)
			}
			// A count near MaxInt64 would overflow on the next step; no run gets there.
			if hp.Step < 0 || hp.Step > 1<<53 {
				return badCheckpoint("group %d param %d has step count %d", gi, i, hp.Step)
			}
			if _, err := c.loadScalars(hp); err != nil {
				return badCheckpoint("group %d param %d (%q): %v", gi, i, hp.Name, err)
			}
			if c.spec.shaped && !slices.Equal(hp.Shape, g.shape[i]) {
				return badCheckpoint("group %d param %d (%q) has shape %v, the optimizer's %s has %v",
					gi, i, hp.Name, hp.Shape, p.label(i), g.shape[i])
			}
			for k, name := range hg.State {
				if name != "" {
					want += 4 * int64(g.slen[k][i])
				}
			}
		}
	}
	if want != int64(len(payload)) {
		return badCheckpoint("the state tensors need %d bytes, the payload has %d", want, len(payload))
	}
	switch {
	case c.ext != nil:
		if err := c.ext.checkExtra(h.Extra); err != nil {
			return badCheckpoint("%v", err)
		}
	case len(h.Extra) > 0:
		return badCheckpoint("it holds a part %s that %s does not keep", h.Extra, c.spec.kind)
	}
	// Everything checks out: commit.
	ctx, err := engine()
	if err != nil {
		return err
	}
	off := 0
	for gi, g := range c.groups {
		for i := range g.params {
			for k, t := range g.state {
				if t == nil {
					continue
				}
				n := g.slen[k][i]
				vals := make([]float32, n)
				for j := range vals {
					vals[j] = math.Float32frombits(binary.LittleEndian.Uint32(payload[off+4*j:]))
				}
				off += 4 * n
				if err := ctx.CopyFromHost(g.stateAt(k, i), vals); err != nil {
					return err
				}
			}
			g.steps[i] = h.Groups[gi].Params[i].Step
			g.sc[i], _ = c.loadScalars(h.Groups[gi].Params[i]) // checked above
		}
		g.cfg = cfgs[gi]
	}
	if c.ext != nil {
		c.ext.commitExtra(h.Extra)
	}
	return nil
}

// loadScalars are the host values a checkpoint holds for a param: every one of the
// optimizer's, finite, once the param has stepped; none before.
func (c *core[C]) loadScalars(hp checkpointParam) (scalars, error) {
	var sc scalars
	if hp.Step == 0 || len(c.spec.scalarNames) == 0 {
		if len(hp.Scalars) > 0 {
			return sc, fmt.Errorf("it holds values %v this optimizer does not keep for it", hp.Scalars)
		}
		return sc, nil
	}
	if len(hp.Scalars) != len(c.spec.scalarNames) {
		return sc, fmt.Errorf("it holds values %v, the optimizer keeps %q", hp.Scalars, c.spec.scalarNames)
	}
	for k, name := range c.spec.scalarNames {
		v, ok := hp.Scalars[name]
		if c.spec.scalars32 {
			v = float64(float32(v))
		}
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			return sc, fmt.Errorf("value %q missing or not finite in %v", name, hp.Scalars)
		}
		sc[k] = v
	}
	return sc, nil
}

// readCheckpoint reads and verifies a whole checkpoint: framing, version, checksums.
func readCheckpoint(r io.Reader) (*checkpointHeader, []byte, error) {
	var pre [16]byte
	if err := readFull(r, pre[:], "the preamble"); err != nil {
		return nil, nil, err
	}
	if string(pre[:8]) != checkpointMagic {
		return nil, nil, badCheckpoint("not a goptim checkpoint (magic %q)", pre[:8])
	}
	if v := binary.LittleEndian.Uint32(pre[8:]); v != checkpointVersion {
		return nil, nil, badCheckpoint("format version %d; this build reads version %d", v, checkpointVersion)
	}
	hlen := binary.LittleEndian.Uint32(pre[12:])
	if hlen > maxHeader {
		return nil, nil, badCheckpoint("header length %d is implausible", hlen)
	}
	// Read the header in bounded pieces too, so that a 22-byte input claiming a
	// 256 MiB header fails at EOF instead of allocating 256 MiB first.
	var hbuf bytes.Buffer
	if n, err := io.CopyN(&hbuf, r, int64(hlen)+4); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, badCheckpoint("truncated in the header: %d of %d bytes", n, int64(hlen)+4)
		}
		return nil, nil, err
	}
	hdr := hbuf.Bytes()
	if crc32.Checksum(hdr[:hlen], castagnoli) != binary.LittleEndian.Uint32(hdr[hlen:]) {
		return nil, nil, badCheckpoint("header checksum mismatch (the file is corrupted)")
	}
	var h checkpointHeader
	if err := json.Unmarshal(hdr[:hlen], &h); err != nil {
		return nil, nil, badCheckpoint("header: %v", err)
	}
	if h.Format != "goptim-checkpoint" || h.Version != checkpointVersion {
		return nil, nil, badCheckpoint("header says format %q version %d", h.Format, h.Version)
	}
	if h.PayloadBytes < 0 || h.PayloadBytes%4 != 0 || h.PayloadBytes > math.MaxInt-16 {
		return nil, nil, badCheckpoint("payload length %d is implausible", h.PayloadBytes)
	}
	// Read the payload in bounded pieces so a lying length fails at EOF instead of
	// allocating it all up front.
	var payload bytes.Buffer
	if n, err := io.CopyN(&payload, r, h.PayloadBytes); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, badCheckpoint("truncated: %d of %d payload bytes", n, h.PayloadBytes)
		}
		return nil, nil, err
	}
	var post [12]byte
	if err := readFull(r, post[:], "the trailer"); err != nil {
		return nil, nil, err
	}
	if crc32.Checksum(payload.Bytes(), castagnoli) != binary.LittleEndian.Uint32(post[:4]) {
		return nil, nil, badCheckpoint("payload checksum mismatch (the file is corrupted)")
	}
	if string(post[4:]) != checkpointTrailer {
		return nil, nil, badCheckpoint("bad trailer %q", post[4:])
	}
	if cf, ok := r.(*checkpointFile); ok {
		if err := cf.atEnd(); err != nil {
			return nil, nil, err
		}
	}
	return &h, payload.Bytes(), nil
}

func readFull(r io.Reader, b []byte, what string) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return badCheckpoint("truncated in %s", what)
		}
		return err
	}
	return nil
}

// Checkpointer is what SaveFile and LoadFile need: every optimizer of this package
// has it, LBFGS included (which is not an Optimizer: its Step takes a closure).
type Checkpointer interface {
	Save(w io.Writer) error
	Load(r io.Reader) error
}

// SaveFile saves opt's state to path atomically: it writes a temporary file in the
// same folder, syncs it, and renames it over path, so a crash leaves either the old
// checkpoint or the new one, never a torn file.
//
// The temporary file is named "<path>.tmp-<16 hex digits>". A process killed while
// saving leaves its temporary file behind; the next SaveFile to the same path
// removes such leftovers, and only those: files that match the pattern exactly for
// this path and that no SaveFile is still writing (on Unix, a saving SaveFile holds
// a flock on its temporary file, which the kernel drops when the process dies).
//
// A file that exists keeps its permission bits; a new one gets 0644 less the
// umask (a checkpoint is data others may read, not a secret). The file is
// replaced, not rewritten in place: a symbolic link at path is replaced by the
// checkpoint, and the file's owner becomes the saving user.
//
// Everything is checked before anything is created: a nil optimizer, an empty
// path, and a path that names a directory or something else that is not a regular
// file fail with an error matching ErrInvalidArgument. File-system failures come
// back as the os package's errors.
func SaveFile(opt Checkpointer, path string) (err error) {
	if err := checkFileOptimizer("SaveFile", opt); err != nil {
		return err
	}
	perm, keep, err := saveTarget(path)
	if err != nil {
		return err
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	removeAbandonedTemps(dir, base)
	f, err := createTemp(dir, base, perm, keep)
	if err != nil {
		return err
	}
	// Runs on every way out, a panic in opt.Save included: until the rename has
	// happened, the temporary file is closed and removed.
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = opt.Save(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if renameOpenTemp {
		// Renamed while still open and locked, so that no other SaveFile's cleanup
		// can take the file for abandoned between the close and the rename.
		if err = os.Rename(f.Name(), path); err != nil {
			return err
		}
		renamed = true
		if err = f.Close(); err != nil {
			return err
		}
	} else {
		if err = f.Close(); err != nil {
			return err
		}
		if err = os.Rename(f.Name(), path); err != nil {
			return err
		}
		renamed = true
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the rename durable; not every filesystem supports it
		d.Close()
	}
	return nil
}

// LoadFile loads a checkpoint written by SaveFile (or Save) into opt. The file must
// hold one checkpoint and nothing after it: trailing bytes (two checkpoints
// concatenated, a file appended to) are an error matching ErrCheckpoint, and like
// every refused checkpoint they leave opt unchanged. (This check is made by the
// optimizers of this package; an Optimizer of the caller's whose Load does not pass
// the reader on to one of them does not get it.) A nil optimizer, an empty path
// and a directory fail with an error matching ErrInvalidArgument.
func LoadFile(opt Checkpointer, path string) error {
	if err := checkFileOptimizer("LoadFile", opt); err != nil {
		return err
	}
	if path == "" {
		return fmt.Errorf("optim: LoadFile: empty path: %w", ErrInvalidArgument)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("optim: LoadFile: %s is a directory, not a checkpoint file: %w", path, ErrInvalidArgument)
	}
	return opt.Load(&checkpointFile{f: f, path: path})
}

// checkpointFile is the reader LoadFile gives to Load. readCheckpoint recognises it
// and, before Load changes anything, checks that the file ends with the trailer.
type checkpointFile struct {
	f    *os.File
	path string
}

func (c *checkpointFile) Read(b []byte) (int, error) { return c.f.Read(b) }

// atEnd returns an error unless the file has no bytes left.
func (c *checkpointFile) atEnd() error {
	pos, err := c.f.Seek(0, io.SeekCurrent)
	if err != nil {
		pos = -1 // not seekable (a pipe): look for a byte instead
	}
	if fi, err := c.f.Stat(); err == nil && fi.Mode().IsRegular() && pos >= 0 {
		if extra := fi.Size() - pos; extra > 0 {
			return badCheckpoint("%s has %d bytes after the checkpoint's trailer at byte %d; a checkpoint file holds one checkpoint",
				c.path, extra, pos)
		}
		return nil
	}
	var one [1]byte
	n, err := c.f.Read(one[:])
	if n > 0 {
		return badCheckpoint("%s has bytes after the checkpoint's trailer; a checkpoint file holds one checkpoint", c.path)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// nilCore reports whether an optimizer of this package was made without its
// constructor (a zero SGD, &Adam{}): its methods would dereference nil.
func (c *core[C]) nilCore() bool { return c == nil }

// checkFileOptimizer refuses, before SaveFile or LoadFile creates or opens
// anything, an optimizer whose Save or Load could only panic.
func checkFileOptimizer(op string, opt Checkpointer) error {
	if opt == nil {
		return fmt.Errorf("optim: %s: nil Optimizer: %w", op, ErrInvalidArgument)
	}
	if v := reflect.ValueOf(opt); v.Kind() == reflect.Pointer && v.IsNil() {
		return fmt.Errorf("optim: %s: nil Optimizer (%T): %w", op, opt, ErrInvalidArgument)
	}
	if n, ok := opt.(interface{ nilCore() bool }); ok && n.nilCore() {
		return fmt.Errorf("optim: %s: %T was not made by its constructor: %w", op, opt, ErrInvalidArgument)
	}
	return nil
}

// saveTarget checks SaveFile's path and returns the permission bits of the file to
// write: the existing file's (keep), or 0644 for a new file, to which the umask
// applies.
func saveTarget(path string) (perm fs.FileMode, keep bool, err error) {
	if path == "" {
		return 0, false, fmt.Errorf("optim: SaveFile: empty path: %w", ErrInvalidArgument)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0o644, false, nil
	case err != nil:
		return 0, false, err
	case fi.IsDir():
		return 0, false, fmt.Errorf("optim: SaveFile: %s is a directory, not a checkpoint file: %w", path, ErrInvalidArgument)
	case !fi.Mode().IsRegular():
		return 0, false, fmt.Errorf("optim: SaveFile: %s is not a regular file (mode %v): %w", path, fi.Mode(), ErrInvalidArgument)
	}
	return fi.Mode().Perm(), true, nil
}

// tempInfix and tempRandLen make SaveFile's temporary names:
// base + tempInfix + tempRandLen lowercase hex digits.
const (
	tempInfix   = ".tmp-"
	tempRandLen = 16
)

// isTempOf reports whether name is one of SaveFile's temporary names for base.
func isTempOf(name, base string) bool {
	rnd, ok := strings.CutPrefix(name, base+tempInfix)
	if !ok || len(rnd) != tempRandLen {
		return false
	}
	for _, c := range rnd {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// removeAbandonedTemps removes the temporary files of earlier SaveFiles of
// dir/base that no SaveFile is writing any more. It is best effort: a save does not
// fail because a leftover could not be listed or removed.
func removeAbandonedTemps(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isTempOf(e.Name(), base) {
			removeIfAbandoned(filepath.Join(dir, e.Name()))
		}
	}
}

// createTemp creates SaveFile's temporary file for dir/base with permission bits
// perm (exactly perm when keep, else perm less the umask) and locks it (see
// lockTemp).
func createTemp(dir, base string, perm fs.FileMode, keep bool) (*os.File, error) {
	var lastErr error
	for try := 0; try < 100; try++ {
		var rnd [tempRandLen / 2]byte
		rand.Read(rnd[:])
		name := filepath.Join(dir, base+tempInfix+hex.EncodeToString(rnd[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if !lockTemp(f, name) {
			// Another SaveFile's cleanup took the file in the instant before the lock
			// and removes it: try another name.
			f.Close()
			lastErr = &fs.PathError{Op: "lock", Path: name, Err: fs.ErrExist}
			continue
		}
		if keep {
			if err := f.Chmod(perm); err != nil {
				f.Close()
				os.Remove(name)
				return nil, err
			}
		}
		return f, nil
	}
	return nil, lastErr
}
