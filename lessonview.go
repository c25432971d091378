package main

import (
	"html/template"

	"smtplab/lessons/goal"
)

// lessonView is one lesson as the page shows it: its HTML, rendered on the
// server so goldmark stays out of the browser's download, and the data the
// scripts need to check its goals.
type lessonView struct {
	Slug  string
	Title string
	// HTML comes from goldmark in safe mode (raw HTML omitted), so it is
	// trusted as markup; nothing a learner types ever reaches it.
	HTML template.HTML
	Data lessonData
}

// lessonData is the part of a lesson the page's scripts read, as JSON.
type lessonData struct {
	Slug     string       `json:"slug"`
	Title    string       `json:"title"`
	Scenario string       `json:"scenario"`
	Summary  string       `json:"summary"`
	Goals    []goal.Goal  `json:"goals"`
	Hints    []string     `json:"hints"`
	Solution []lessonStep `json:"solution"`
}

// lessonStep is one step of a lesson's solution: a line to type, or time
// to let pass ("30m").
type lessonStep struct {
	Type    string `json:"type,omitempty"`
	Advance string `json:"advance,omitempty"`
}
