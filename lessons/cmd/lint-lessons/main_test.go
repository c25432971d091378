package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const lesson = `---
title: T
order: %d
scenario: first-session
summary: S
goals:
  - {id: g, text: T, reply: {code: 250}}
hints: [h]
solution:
  - type: EHLO laptop.example.com
---
Body.
`

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShippedLessonsAreClean(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"../.."}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	if !strings.HasSuffix(out.String(), "lessons, no problems\n") {
		t.Fatalf("output %q", out.String())
	}
}

func TestReportsProblemsWithTheirFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.md", strings.Replace(lesson, "%d", "1", 1))
	write(t, dir, "b.md", strings.Replace(strings.Replace(lesson, "%d", "1", 1), "hints: [h]\n", "", 1))
	write(t, dir, "c.md", "no front matter\n")
	write(t, dir, "notes.txt", "not a lesson")

	var out, errs bytes.Buffer
	code := run([]string{dir}, &out, &errs)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	want := []string{
		filepath.Join(dir, "a.md") + ":3: order: 1 is also the order of b",
		filepath.Join(dir, "b.md") + ":1: hints: none; give at least one hint for a learner who is stuck",
		filepath.Join(dir, "b.md") + ":3: order: 1 is also the order of a",
		filepath.Join(dir, "c.md") + ":1: front matter: missing; start the file with a line of --- and the lesson's YAML, and end the YAML with another",
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
	}
}

// TestEveryProblemInOneRun gives a lesson with five mistakes, each on its
// own line: one run reports them all, with their lines.
func TestEveryProblemInOneRun(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "13-broken.md", `---
title: Broken
order: 13
scenario: first-session
summary: S
goals:
  - {id: g, text: T, reply: {code: 250, rcpt: x}}
hints: [""]
solution:
  - type: EHLO x
  - typo: EHLO x
  - advance: soon
---
`+"```smtp-lab\nhieght: 9\n```\n")
	var out, errs bytes.Buffer
	if code := run([]string{dir}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errs.String())
	}
	file := filepath.Join(dir, "13-broken.md")
	want := []string{
		file + `:7: goals: "g": reply: unknown field "rcpt"`,
		file + `:8: hints[1]: empty`,
		file + `:11: solution[2]: unknown step "typo"; a step is one of: type, raw, submit, advance, connect, lab`,
		file + `:12: solution[3]: advance "soon" is not a positive duration`,
		file + `:15: smtp-lab block 1: unknown option "hieght"`,
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(got), len(want), out.String())
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d is %q, want it to start with %q", i+1, got[i], want[i])
		}
	}
}

// TestSolutionIsReplayed gives a lesson whose solution does not reach its
// goal: the linter replays it, as go test does, and says so.
func TestSolutionIsReplayed(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.md", strings.Replace(strings.Replace(lesson, "%d", "1", 1), "type: EHLO laptop.example.com", "type: QUIT", 1))
	var out, errs bytes.Buffer
	if code := run([]string{dir}, &out, &errs); code != 1 ||
		out.String() != filepath.Join(dir, "a.md")+`:7: goals: goal "g" is not done after the solution's last step: the solution must reach every goal`+"\n" {
		t.Errorf("exit %d, output %q", code, out.String())
	}
}

// TestFilesAndDirectories lints files and directories given together, as
// one course, each file once.
func TestFilesAndDirectories(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	write(t, dir, "a.md", strings.Replace(lesson, "%d", "1", 1))
	write(t, dir, "b.md", strings.Replace(lesson, "%d", "2", 1))
	write(t, other, "c.md", strings.Replace(lesson, "%d", "2", 1))

	var out, errs bytes.Buffer
	if code := run([]string{filepath.Join(dir, "a.md")}, &out, &errs); code != 0 || out.String() != "1 lesson, no problems\n" {
		t.Errorf("one file: exit %d, output %q %q", code, out.String(), errs.String())
	}
	out.Reset()
	if code := run([]string{dir, filepath.Join(dir, "a.md")}, &out, &errs); code != 0 || out.String() != "2 lessons, no problems\n" {
		t.Errorf("a directory and a file in it: exit %d, output %q %q", code, out.String(), errs.String())
	}
	out.Reset()
	if code := run([]string{dir, filepath.Join(other, "c.md")}, &out, &errs); code != 1 ||
		!strings.Contains(out.String(), filepath.Join(other, "c.md")+":3: order: 2 is also the order of b") {
		t.Errorf("a directory and a file elsewhere: exit %d, output %q", code, out.String())
	}
	for _, bad := range []string{filepath.Join(dir, "missing.md"), filepath.Join(dir, "notes.txt"), other + "/empty"} {
		write(t, dir, "notes.txt", "x")
		_ = os.Mkdir(other+"/empty", 0o755)
		out.Reset()
		errs.Reset()
		if code := run([]string{bad}, &out, &errs); code != 2 || !strings.HasPrefix(errs.String(), "lint-lessons: ") {
			t.Errorf("%s: exit %d, stderr %q, want 2 and a message", bad, code, errs.String())
		}
	}
}

func TestScenariosFlag(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.md", strings.Replace(lesson, "%d", "1", 1))
	var out, errs bytes.Buffer
	if code := run([]string{"-scenarios", "greylisting,mx-routing", dir}, &out, &errs); code != 1 ||
		!strings.Contains(out.String(), `scenario: "first-session" is not a known scenario`) {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
	if code := run(nil, &out, &errs); code != 2 || !strings.Contains(errs.String(), "usage:") {
		t.Fatalf("no arguments: exit %d, stderr %q", code, errs.String())
	}
}
