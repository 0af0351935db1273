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
)

// String returns the Go method name of the change, used in error messages.
func (o op) String() string {
	switch o {
	case opNewService:
		return "NewService"
	case opUpdateService:
		return "UpdateService"
	case opDeleteService:
		return "DeleteService"
	case opNewDestination:
		return "NewDestination"
	case opUpdateDestination:
		return "UpdateDestination"
	case opDeleteDestination:
		return "DeleteDestination"
	case opZero:
		return "Zero"
	}
	return "change"
}

// change is one element of a Batch.
type change struct {
	op  op
	svc Service
	dst Destination
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
	b.changes = append(b.changes, change{op: opNewService, svc: *s})
	return b
}

// UpdateService updates a service.
func (b *Batch) UpdateService(s *Service) *Batch {
	b.changes = append(b.changes, change{op: opUpdateService, svc: *s})
	return b
}

// DeleteService deletes a service.
func (b *Batch) DeleteService(s *Service) *Batch {
	b.changes = append(b.changes, change{op: opDeleteService, svc: *s})
	return b
}

// NewDestination adds a destination to s.
func (b *Batch) NewDestination(s *Service, d *Destination) *Batch {
	b.changes = append(b.changes, change{op: opNewDestination, svc: *s, dst: *d})
	return b
}

// UpdateDestination updates a destination of s.
func (b *Batch) UpdateDestination(s *Service, d *Destination) *Batch {
	b.changes = append(b.changes, change{op: opUpdateDestination, svc: *s, dst: *d})
	return b
}

// DeleteDestination deletes a destination of s.
func (b *Batch) DeleteDestination(s *Service, d *Destination) *Batch {
	b.changes = append(b.changes, change{op: opDeleteDestination, svc: *s, dst: *d})
	return b
}

// Zero resets the statistics of s.
func (b *Batch) Zero(s *Service) *Batch {
	b.changes = append(b.changes, change{op: opZero, svc: *s})
	return b
}
