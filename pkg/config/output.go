package config

import "fmt"

// Output formats of the commands that print a report (--output).
const (
	OutputTable = "table"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
)

// outputValue is a flag that accepts only the known formats, so a typo fails at parse time.
type outputValue struct{ p *string }

func (o *outputValue) String() string {
	if o == nil || o.p == nil {
		return ""
	}
	return *o.p
}

func (o *outputValue) Set(s string) error {
	switch s {
	case OutputTable, OutputJSON, OutputYAML:
		*o.p = s
		return nil
	}
	return fmt.Errorf("want %s, %s or %s", OutputTable, OutputJSON, OutputYAML)
}

func (o *outputValue) Type() string { return "format" }
