package optim

// LRGroups is what a learning-rate schedule of package optim/schedule drives: the
// learning rate (and, for schedules that cycle it, the momentum) of each parameter
// group of an optimizer. Every optimizer in this package implements it; the
// schedules need nothing else of an optimizer.
type LRGroups interface {
	// NumGroups is the number of parameter groups.
	NumGroups() int
	// GroupLR is the current learning rate of group i.
	GroupLR(i int) float64
	// SetGroupLR sets the learning rate of group i; it fails for a negative or
	// non-finite lr or an out-of-range i.
	SetGroupLR(i int, lr float64) error
	// GroupMomentum is the momentum of group i as torch's OneCycleLR sees it:
	// momentum for SGD and RMSprop, beta1 for Adam and AdamW. ok is false for
	// optimizers without one (Adagrad).
	GroupMomentum(i int) (m float64, ok bool)
	// SetGroupMomentum sets what GroupMomentum reads.
	SetGroupMomentum(i int, m float64) error
}
