package optim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
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
			cg.Params = append(cg.Params, checkpointParam{Name: p.Name, Numel: g.numel[i], Step: g.steps[i]})
			for _, name := range cg.State {
				if name != "" {
					h.PayloadBytes += 4 * int64(g.numel[i])
				}
			}
		}
		h.Groups = append(h.Groups, cg)
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var pre bytes.Buffer
	pre.WriteString(checkpointMagic)
	binary.Write(&pre, binary.LittleEndian, uint32(checkpointVersion))
	binary.Write(&pre, binary.LittleEndian, uint32(len(hdr)))
	pre.Write(hdr)
	binary.Write(&pre, binary.LittleEndian, crc32.Checksum(hdr, castagnoli))
	if _, err := w.Write(pre.Bytes()); err != nil {
		return err
	}
	crc := uint32(0)
	for _, g := range c.groups {
		for i := range g.params {
			for k, t := range g.state {
				if t == nil {
					continue
				}
				buf := make([]float32, g.numel[i])
				if err := ctx.CopyToHost(buf, unsafe.Add(t.ptr, 4*g.off[i])); err != nil {
					return err
				}
				b := float32Bytes(buf)
				crc = crc32.Update(crc, castagnoli, b)
				if _, err := w.Write(b); err != nil {
					return fmt.Errorf("optim: %s: Save: state %s: %w", c.spec.kind, c.spec.slots(g.cfg)[k], err)
				}
			}
		}
	}
	var post [12]byte
	binary.LittleEndian.PutUint32(post[:4], crc)
	copy(post[4:], checkpointTrailer)
	_, err = w.Write(post[:])
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
func (c *core[C]) Load(r io.Reader) error {
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
		// reliability: %q, as the name comes from the file (and "a adam" read oddly).
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
			// reliability: name all three layouts; the message used to print the file's
			// and the optimizer's, which are equal when the file's config is at fault.
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
			for _, name := range hg.State {
				if name != "" {
					want += 4 * int64(hp.Numel)
				}
			}
		}
	}
	if want != int64(len(payload)) {
		return badCheckpoint("the state tensors need %d bytes, the payload has %d", want, len(payload))
	}
	// Everything checks out: commit.
	ctx, err := engine()
	if err != nil {
		return err
	}
	off := 0
	for gi, g := range c.groups {
		for i := range g.params {
			for _, t := range g.state {
				if t == nil {
					continue
				}
				n := g.numel[i]
				vals := make([]float32, n)
				for j := range vals {
					vals[j] = math.Float32frombits(binary.LittleEndian.Uint32(payload[off+4*j:]))
				}
				off += 4 * n
				if err := ctx.CopyFromHost(unsafe.Add(t.ptr, 4*g.off[i]), vals); err != nil {
					return err
				}
			}
			g.steps[i] = h.Groups[gi].Params[i].Step
		}
		g.cfg = cfgs[gi]
	}
	return nil
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
	// reliability: read the header in bounded pieces too, so that a 22-byte input
	// claiming a 256 MiB header fails at EOF instead of allocating 256 MiB first.
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

// SaveFile saves opt's state to path atomically: it writes a temporary file in the
// same folder, syncs it, and renames it over path, so a crash leaves either the old
// checkpoint or the new one, never a torn file.
func SaveFile(opt Optimizer, path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
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
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the rename durable; not every filesystem supports it
		d.Close()
	}
	return nil
}

// LoadFile loads a checkpoint written by SaveFile (or Save) into opt.
func LoadFile(opt Optimizer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return opt.Load(f)
}
