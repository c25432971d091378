// Command lint-lessons checks SMTP Lab lessons the way the tests check the
// shipped ones, so a course author hears about a missing hint or a
// misspelt goal before a learner does.
//
//	go run ./lessons/cmd/lint-lessons [-scenarios a,b,c] DIR_OR_FILE...
//
// Each argument is a lesson file (.md) or a directory, whose .md files are
// the lessons (not those of its subdirectories). All of them are linted
// together, as one course: no two may share a slug or an order.
//
// It prints every problem of every file in one run, one a line, as
// "file:line: where: what" (the line counts the front matter's opening
// --- as line 1, so an editor can jump there), and exits with status 1 if
// there was any; with none, it prints "12 lessons, no problems". It exits
// with status 2 when an argument cannot be read. -scenarios replaces the
// list of scenario names lessons may use.
package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"smtplab/lessons"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usage is the command's synopsis.
const usage = "usage: lint-lessons [-scenarios a,b,c] DIR_OR_FILE..."

// run is main without the process around it, for the tests.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("lint-lessons", flag.ContinueOnError)
	flags.SetOutput(stderr)
	scenarios := flags.String("scenarios", strings.Join(lessons.KnownScenarios(), ","), "comma-separated scenario names lessons may use")
	flags.Usage = func() {
		fmt.Fprintln(stderr, usage)
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

	files, err := readLessons(flags.Args())
	if err != nil {
		fmt.Fprintf(stderr, "lint-lessons: %v\n", err)
		return 2
	}
	n, problems := lessons.LintFiles(files, known)
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if len(problems) > 0 {
		return 1
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(stdout, "%d lesson%s, no problems\n", n, plural)
	return 0
}

// readLessons reads the lesson files the arguments name: each .md file
// given, and the .md files of each directory given, each file once.
func readLessons(args []string) ([]lessons.File, error) {
	var files []lessons.File
	seen := map[string]bool{}
	read := func(path string) error {
		if seen[filepath.Clean(path)] {
			return nil
		}
		seen[filepath.Clean(path)] = true
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, lessons.File{Path: path, Src: src})
		return nil
	}
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if !strings.HasSuffix(arg, ".md") {
				return nil, fmt.Errorf("%s: not a lesson: a lesson is a .md file", arg)
			}
			if err := read(arg); err != nil {
				return nil, err
			}
			continue
		}
		names, err := fs.Glob(os.DirFS(arg), "*.md")
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: no lessons (.md files) in this directory", arg)
		}
		for _, name := range names {
			if err := read(filepath.Join(arg, name)); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}
