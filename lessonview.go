package main

import (
	"html/template"

	"smtplab/lessons"
	"smtplab/lessons/goal"
)

// loadLessons renders every lesson for the page.
func loadLessons() ([]lessonView, error) {
	all, err := lessons.All()
	if err != nil {
		return nil, err
	}
	views := make([]lessonView, 0, len(all))
	for _, l := range all {
		views = append(views, lessonView{
			Slug:  l.Slug,
			Title: l.Title,
			HTML:  template.HTML(l.HTML), // goldmark in safe mode: see package lessons
			Data: lessonData{Slug: l.Slug, Title: l.Title, Scenario: l.Scenario, Summary: l.Summary,
				Goals: l.Goals, Hints: l.Hints, Solution: l.Solution},
		})
	}
	return views, nil
}

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
// Hints and Solution are empty, and Help names where they are, for the
// lessons the page does not open first.
type lessonData struct {
	Slug     string         `json:"slug"`
	Title    string         `json:"title"`
	Scenario string         `json:"scenario"`
	Summary  string         `json:"summary"`
	Goals    []goal.Goal    `json:"goals"`
	Hints    []string       `json:"hints,omitempty"`
	Solution []lessons.Step `json:"solution,omitempty"`
	Help     string         `json:"help,omitempty"` // the URL of the lesson's lessonHelp
}

// lessonHelp is a lesson's hints and solution, served on their own for
// the lessons whose data the page leaves out.
type lessonHelp struct {
	Hints    []string       `json:"hints"`
	Solution []lessons.Step `json:"solution"`
}
