package config

import (
	"fmt"

	"github.com/spf13/pflag"
)

// Output formats of the commands that print a report (--output).
const (
	OutputTable = "table"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
)

// reportCommands are the commands that take --output.
var reportCommands = map[string]bool{"plan": true, "status": true}

// bindOutput adds -o/--output to the commands that print a report; the table is the default.
func bindOutput(fs *pflag.FlagSet, name string, c *Config) {
	if !reportCommands[name] {
		return
	}
	if c.Output == "" {
		c.Output = OutputTable
	}
	fs.VarP(&outputValue{&c.Output}, "output", "o", "output format: table, json or yaml")
}

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
