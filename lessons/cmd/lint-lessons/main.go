// Command lint-lessons checks a directory of SMTP Lab lessons the way the
// tests check the shipped ones, so a course author hears about a missing
// hint or a misspelt goal before a learner does.
//
//	go run ./lessons/cmd/lint-lessons [-scenarios a,b,c] DIR...
//
// It prints one line per problem, "file: where: what", and exits with
// status 1 if there was any. -scenarios replaces the list of scenario
// names lessons may use.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"smtplab/lessons"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process around it, for the tests.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("lint-lessons", flag.ContinueOnError)
	flags.SetOutput(stderr)
	scenarios := flags.String("scenarios", strings.Join(lessons.KnownScenarios(), ","), "comma-separated scenario names lessons may use")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: lint-lessons [-scenarios a,b,c] DIR...")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return 2
	}
	known := strings.Split(*scenarios, ",")

	bad := false
	var all []lessons.Lesson
	files := map[string]string{} // slug → file, for messages
	for _, dir := range flags.Args() {
		ls, err := lessons.ParseFS(os.DirFS(dir), ".")
		if err != nil {
			// Every lesson that could not be parsed is one line of err.
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stdout, "%s: %s\n", dir, line)
			}
			bad = true
		}
		for _, l := range ls {
			files[l.Slug] = filepath.Join(dir, l.Slug+".md")
		}
		all = append(all, ls...)
	}
	problems := lessons.LintAll(all, known)
	for _, p := range problems {
		fmt.Fprintf(stdout, "%s: %s: %s\n", files[p.Lesson], p.Where, p.Msg)
	}
	if bad || len(problems) > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "%d lessons, no problems\n", len(all))
	return 0
}
