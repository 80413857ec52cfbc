package staff

import (
	"slices"
	"sync"
)

// Listeners are the functions a register runs after each change it
// commits (the policy engine's Invalidate): the governance registers
// (training, contracts, facilities) embed it. Safe for concurrent use.
type Listeners struct {
	mu  sync.Mutex
	fns []func()
}

// OnChange registers fn to run after every committed change.
func (l *Listeners) OnChange(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fns = append(l.fns, fn)
}

// Notify runs the registered functions, outside the lock.
func (l *Listeners) Notify() {
	l.mu.Lock()
	fns := slices.Clone(l.fns)
	l.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
