package iotda

import "sync"

// Operation names one call of the API, as the API reference names it.
type Operation string

// The operations of the device-policy API.
const (
	OpCreate      Operation = "CreateDevicePolicy"
	OpUpdate      Operation = "UpdateDevicePolicy"
	OpShow        Operation = "ShowDevicePolicy"
	OpDelete      Operation = "DeleteDevicePolicy"
	OpList        Operation = "ListDevicePolicies"
	OpBind        Operation = "BindDevicePolicy"
	OpUnbind      Operation = "UnbindDevicePolicy"
	OpListTargets Operation = "ShowTargetsInDevicePolicy"
)

// CallCounter counts the requests a client sends, by operation: every
// attempt, retries included and whatever its outcome, as the endpoint
// would count them. Tests set it in Config.CallCounter to hold call budgets
// against any endpoint, a real instance included. The zero value is ready
// to use; it is safe for concurrent use.
type CallCounter struct {
	mu    sync.Mutex
	calls map[Operation]int
}

// Calls returns how many requests of op were sent.
func (c *CallCounter) Calls(op Operation) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// Total returns how many requests of any operation were sent.
func (c *CallCounter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

// Counts returns a copy of every counter, for a failure message.
func (c *CallCounter) Counts() map[Operation]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[Operation]int, len(c.calls))
	for op, n := range c.calls {
		out[op] = n
	}
	return out
}

// Reset sets every counter back to zero.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
}

func (c *CallCounter) add(op Operation) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[Operation]int{}
	}
	c.calls[op]++
}
