package bootstrap

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// ActionText is what the ACTION column says for s: found, created or would create, set or
// would set, left alone, absent, skipped, or failed.
func (s Step) ActionText(applied bool) string {
	switch {
	case s.Err != nil:
		return "failed"
	case (s.Action == ActionCreate || s.Action == ActionSet) && !applied:
		return "would " + string(s.Action)
	case s.Action == ActionCreate && s.Done:
		return "created"
	}
	return string(s.Action)
}

// WhyText is what the WHY column says for s: the reason, or the error of a failed step.
func (s Step) WhyText() string {
	why := s.Why
	if s.Err != nil {
		why = s.Err.Error()
	}
	return strings.Join(strings.Fields(why), " ")
}

// WriteTable prints one row per step: KIND, NAME/ID, ACTION, WHY.
func (r Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME/ID\tACTION\tWHY")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Kind, s.Name, s.ActionText(r.Applied), s.WhyText())
	}
	return tw.Flush()
}
