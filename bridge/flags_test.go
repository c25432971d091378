package bridge

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestFlagsRefuseNonsense: a flag value that makes no sense is an error
// of the command line, never a default quietly put in its place.
func TestFlagsRefuseNonsense(t *testing.T) {
	parse := func(args ...string) (Options, error) {
		var o Options
		fs := flag.NewFlagSet("smtplab", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o.RegisterFlags(fs)
		return o, fs.Parse(args)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-max-conns", "0"}, "at least 1"},
		{[]string{"-max-conns", "-1"}, "at least 1"},
		{[]string{"-max-conns", "many"}, "whole number"},
		{[]string{"-max-conns-per-ip", "0"}, "at least 1"},
		{[]string{"-timeout-scale", "0"}, "more than 0"},
		{[]string{"-timeout-scale", "-1"}, "more than 0"},
		{[]string{"-timeout-scale", "NaN"}, "more than 0"},
		{[]string{"-timeout-scale", "1e6"}, "at most 1000"},
		{[]string{"-scenario", "nope"}, `no scenario called "nope" (try one of: backup-mx, `},
		{[]string{"-keep-mail-mib", "0"}, "keep no mail"},
	} {
		if _, err := parse(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.args, err, c.want)
		}
	}
	o, err := parse()
	if err != nil || o.Scenario != "first-session" || o.TimeoutScale != 1 || o.MaxConns != 100 || o.MaxConnsPerIP != 20 {
		t.Errorf("defaults: %v %+v", err, o)
	}
	o, err = parse("-scenario", "greylisting", "-timeout-scale", "0.01", "-max-conns", "1", "-max-conns-per-ip", "1")
	if err != nil || o.Scenario != "greylisting" || o.TimeoutScale != 0.01 || o.MaxConns != 1 || o.MaxConnsPerIP != 1 {
		t.Errorf("good values: %v %+v", err, o)
	}
	var help bytes.Buffer
	fs := flag.NewFlagSet("smtplab", flag.ContinueOnError)
	o.RegisterFlags(fs)
	fs.SetOutput(&help)
	fs.PrintDefaults()
	for _, want := range []string{"(default first-session)", "(default 100)", "(default 20)", "(default 1)", "for -addr"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("the help has no %q:\n%s", want, help.String())
		}
	}
}
