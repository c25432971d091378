package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// coursePage is a course author's page: head and body as given.
func coursePage(head, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><meta charset=utf-8><title>Course</title>%s</head><body><h1>Course</h1>%s</body></html>", head, body)
	}
}

// TestBrowserEmbedFromAnotherOrigin: a course page on another site loads
// <smtp-lab> from the lab's server and gets a working lab: the module
// imports, the explanations and the engine are read across origins.
func TestBrowserEmbedFromAnotherOrigin(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<link rel="stylesheet" href="`+labURL+`/css/lab.css"><script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab scenario="first-session"></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/', true)`)
	waitFor(t, ctx, "the embedded lab's greeting", `[...document.querySelectorAll('smtp-lab .transcript .reply')].some(r => r.dataset.code === '220')`)
}

// TestBrowserEmbedReleasesWorlds: a single-page course site that replaces
// its lab at every visit does not run out of worlds: a lab taken out of the
// page releases its world in the engine, which holds 64 at most.
func TestBrowserEmbedReleasesWorlds(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/lab/", http.StripPrefix("/lab", realSite(t)))
	mux.Handle("/course/", coursePage(`<script type="module" src="/lab/js/smtp-lab.js"></script>`, `<div id="content"></div>`))
	url := serve(t, mux)
	ctx := testTab(t, 180*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/course/', true)`)
	waitFor(t, ctx, "the element", `!!customElements.get('smtp-lab')`)
	got := eval[string](t, ctx, `(async () => {
		const content = document.getElementById('content');
		for (let i = 0; i < 70; i++) {
			content.replaceChildren();
			const lab = document.createElement('smtp-lab');
			lab.setAttribute('scenario', 'first-session');
			content.append(lab);
			for (let k = 0; k < 400 && !/^Lab:|could not/.test(lab.querySelector('.status').textContent); k++) {
				await new Promise((r) => setTimeout(r, 25));
			}
			const status = lab.querySelector('.status').textContent;
			if (!/^Lab:/.test(status)) return 'visit ' + (i + 1) + ': ' + status;
		}
		return 'ok';
	})()`)
	if got != "ok" {
		t.Fatal(got)
	}
}

// TestBrowserEmbedKeepsTheCoursePageLook: lab.css styles the labs a course
// page embeds, and leaves the course page's own body and buttons as its
// author made them.
func TestBrowserEmbedKeepsTheCoursePageLook(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/lab/", http.StripPrefix("/lab", realSite(t)))
	mux.Handle("/course/", coursePage(
		`<style>body{margin:40px;font-family:serif;background:rgb(255,250,200)} button{background:rgb(200,0,0)}</style>`+
			`<link rel="stylesheet" href="/lab/css/lab.css"><script type="module" src="/lab/js/smtp-lab.js"></script>`,
		`<button id="own">the course's button</button><smtp-lab scenario="first-session"></smtp-lab>`))
	url := serve(t, mux)
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/course/', true)`)
	waitFor(t, ctx, "the embedded lab", `!!document.querySelector('smtp-lab .transcript')`)
	got := eval[map[string]string](t, ctx, `(() => {
		const body = getComputedStyle(document.body), own = getComputedStyle(document.getElementById('own'));
		const labButton = document.querySelector('smtp-lab button');
		return { margin: body.marginTop, font: body.fontFamily, background: body.backgroundColor, button: own.backgroundColor,
			labButton: labButton ? getComputedStyle(labButton).backgroundColor : 'none' };
	})()`)
	want := map[string]string{"margin": "40px", "font": "serif", "background": "rgb(255, 250, 200)", "button": "rgb(200, 0, 0)"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("the course page's %s is %q after linking lab.css, want its own %q", k, got[k], w)
		}
	}
	if got["labButton"] == "rgb(200, 0, 0)" || got["labButton"] == "none" {
		t.Errorf("the lab's own buttons are not styled by lab.css: %q", got["labButton"])
	}
}
