package ipvs

import "fmt"

// op names one kind of change.
type op int

const (
	opNewService op = iota
	opUpdateService
	opDeleteService
	opNewDestination
	opUpdateDestination
	opDeleteDestination
	opZero
	opZeroAll
)

// opNames are the error operation names of the change kinds: the Handle method that makes
// the change alone.
var opNames = [...]string{
	opNewService:        "ipvs.NewService",
	opUpdateService:     "ipvs.UpdateService",
	opDeleteService:     "ipvs.DeleteService",
	opNewDestination:    "ipvs.NewDestination",
	opUpdateDestination: "ipvs.UpdateDestination",
	opDeleteDestination: "ipvs.DeleteDestination",
	opZero:              "ipvs.Zero",
	opZeroAll:           "ipvs.ZeroAll",
}

// String returns the operation name of the change ("ipvs.NewService"), the Op of its errors.
func (o op) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "ipvs.change"
}

// add appends one change, converted at once into the C ABI's struct lbnet_ipvs_change (so
// *s and *d are copied and the caller may reuse them). The batch's array holds no Go pointers:
// growing it is a plain copy the garbage collector does not scan, and Apply hands it to the
// library as it is. A change that cannot be converted (a nil service or destination, an
// address of the wrong family...) is remembered and makes Apply fail with EINVAL naming it,
// instead of a panic where it was added.
func (b *Batch) add(o op, s *Service, d *Destination) *Batch {
	i := len(b.changes)
	b.changes = append(b.changes, cchange{})
	b.ops = append(b.ops, o)
	if err := setChange(&b.changes[i], o, s, d); err != nil && b.err == nil {
		b.err = fmt.Errorf("batch change %d: %w", i, err)
	}
	return b
}

// Batch is a list of changes for Handle.Apply. Values are copied when added, so the caller may
// reuse its structs. A Batch is not safe for concurrent use; Apply does not modify it.
type Batch struct {
	changes []cchange // the changes as the library takes them
	ops     []op      // the kind of each change, for its error's Op
	err     error     // the first change that could not be converted, if any
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{} }

// Len returns the number of changes.
func (b *Batch) Len() int { return len(b.changes) }

// Reset removes every change.
func (b *Batch) Reset() {
	b.changes, b.ops, b.err = b.changes[:0], b.ops[:0], nil
}

// NewService adds a service.
func (b *Batch) NewService(s *Service) *Batch {
	return b.add(opNewService, s, nil)
}

// UpdateService updates a service.
func (b *Batch) UpdateService(s *Service) *Batch {
	return b.add(opUpdateService, s, nil)
}

// DeleteService deletes a service.
func (b *Batch) DeleteService(s *Service) *Batch {
	return b.add(opDeleteService, s, nil)
}

// NewDestination adds a destination to s.
func (b *Batch) NewDestination(s *Service, d *Destination) *Batch {
	return b.add(opNewDestination, s, d)
}

// UpdateDestination updates a destination of s.
func (b *Batch) UpdateDestination(s *Service, d *Destination) *Batch {
	return b.add(opUpdateDestination, s, d)
}

// DeleteDestination deletes a destination of s.
func (b *Batch) DeleteDestination(s *Service, d *Destination) *Batch {
	return b.add(opDeleteDestination, s, d)
}

// Zero resets the statistics of s and its destinations; Zero(nil) resets every counter, as
// Handle.ZeroAll does.
func (b *Batch) Zero(s *Service) *Batch {
	if s == nil {
		return b.add(opZeroAll, nil, nil)
	}
	return b.add(opZero, s, nil)
}
