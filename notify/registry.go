package notify

// Kind is one channel type: its name (a value of the channels collection's type) and
// how to make its empty settings, which Parse decodes a channel's keys into.
type Kind struct {
	Name Type
	New  func() Settings
}

// registry lists every channel type, in the order the admin UI's type dropdown shows
// them. Adding a type is its own file (settings, validation, payload builder, Kind) and
// one entry here. It is an explicit list rather than init() registrations so the set
// and its order read in one place, do not depend on which files happen to be compiled
// in, and tests can iterate it knowing it is complete.
var registry = []Kind{
	webhookKind,
	slackKind,
	discordKind,
	teamsKind,
	telegramKind,
	ntfyKind,
	pushoverKind,
	pagerDutyKind,
	emailKind,
}

// Types lists the name of every channel type, in the registry's order.
func Types() []string {
	names := make([]string, len(registry))
	for i, k := range registry {
		names[i] = string(k.Name)
	}
	return names
}

// lookup finds the kind named t.
func lookup(t Type) (Kind, bool) {
	for _, k := range registry {
		if k.Name == t {
			return k, true
		}
	}
	return Kind{}, false
}
