package monitor

// Counts is how many services are in each state: the summary cards, /api/status and the
// minute summary all count with it.
type Counts struct {
	Total, Up, Late, Degraded, Down, Unknown, Paused int
}

// Add counts one service in state st.
func (c *Counts) Add(st Status) { c.AddN(st, 1) }

// AddN counts n services in state st; a state that is none of the others counts as
// unknown.
func (c *Counts) AddN(st Status, n int) {
	*c.of(st) += n
	c.Total += n
}

// Of is how many services are in state st.
func (c Counts) Of(st Status) int { return *c.of(st) }

func (c *Counts) of(st Status) *int {
	switch st {
	case Up:
		return &c.Up
	case Late:
		return &c.Late
	case Degraded:
		return &c.Degraded
	case Down:
		return &c.Down
	case Paused:
		return &c.Paused
	}
	return &c.Unknown
}
