package ipvs

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

// change is one element of a Batch. A nil service or destination given to a Batch method is
// remembered (noSvc, noDst) and makes Apply fail with EINVAL naming the change, instead of a
// panic where it was added.
type change struct {
	op    op
	svc   Service
	dst   Destination
	noSvc bool
	noDst bool
}

// add appends one change, copying *s and *d when they are not nil.
func (b *Batch) add(o op, s *Service, d *Destination) *Batch {
	c := change{op: o, noSvc: s == nil, noDst: d == nil}
	if s != nil {
		c.svc = *s
	}
	if d != nil {
		c.dst = *d
	}
	b.changes = append(b.changes, c)
	return b
}

// Batch is a list of changes for Handle.Apply. Values are copied when added, so the caller may
// reuse its structs. A Batch is not safe for concurrent use; Apply does not modify it.
type Batch struct {
	changes []change
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{} }

// Len returns the number of changes.
func (b *Batch) Len() int { return len(b.changes) }

// Reset removes every change.
func (b *Batch) Reset() { b.changes = b.changes[:0] }

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
