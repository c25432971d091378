package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// explanationTable is the shape of web/i18n/reasons.<lang>.json.
type explanationTable struct {
	Language string                 `json:"language"`
	Labels   map[string]string      `json:"labels"`
	Classes  map[string]explanation `json:"classes"`
	Reasons  map[string]explanation `json:"reasons"`
}

type explanation struct {
	Meaning string `json:"meaning"`
	Next    string `json:"next"`
	RFC     string `json:"rfc"`
}

// engineReasons returns the values of every constant of type Reason
// declared in engine/smtp/reason.go, read with go/parser so the test needs
// no change when a reason is added.
func engineReasons(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "engine/smtp/reason.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{} // value → constant name
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: value is not a string literal", name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				reasons[v] = name.Name
			}
		}
	}
	if len(reasons) == 0 {
		t.Fatal("found no Reason constants in engine/smtp/reason.go")
	}
	return reasons
}

// TestExplanationsCoverReasons fails when the engine has a reason the
// explanation tables do not explain, or a table explains a reason the
// engine no longer has.
func TestExplanationsCoverReasons(t *testing.T) {
	reasons := engineReasons(t)
	tables, err := fs.Glob(webFiles, "web/i18n/reasons.*.json")
	if err != nil || len(tables) == 0 {
		t.Fatalf("no explanation tables (%v)", err)
	}
	for _, name := range tables {
		b, err := fs.ReadFile(webFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		var table explanationTable
		if err := json.Unmarshal(b, &table); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var missing []string
		for v, constName := range reasons {
			x, ok := table.Reasons[v]
			switch {
			case !ok:
				missing = append(missing, v+" ("+constName+")")
			case x.Meaning == "" || x.Next == "" || x.RFC == "":
				t.Errorf("%s: %q needs meaning, next and rfc", name, v)
			}
		}
		sort.Strings(missing)
		for _, m := range missing {
			t.Errorf("%s: no explanation for reason %s", name, m)
		}
		for v := range table.Reasons {
			if _, ok := reasons[v]; !ok {
				t.Errorf("%s: explains %q, which engine/smtp does not define", name, v)
			}
		}
		for _, class := range []string{"2", "3", "4", "5"} {
			if x := table.Classes[class]; x.Meaning == "" || x.Next == "" || x.RFC == "" {
				t.Errorf("%s: reply class %sxx needs meaning, next and rfc", name, class)
			}
		}
		for _, label := range []string{"meaning", "next", "rfc"} {
			if table.Labels[label] == "" {
				t.Errorf("%s: no label for %q", name, label)
			}
		}
	}
}

// reasonSites counts, for each Reason constant, the places in the server
// and the mail transfer agent (engine/server, engine/mta) that give a reply
// with it: each its own text, so each a cause of its own. A reason handed
// to argError counts twice: the text after its prefix is the parser's,
// one of many causes.
func reasonSites(t *testing.T) map[string]int {
	t.Helper()
	consts := map[string]string{} // constant name → value
	for v, name := range engineReasons(t) {
		consts[name] = v
	}
	sites := map[string]int{}
	for _, dir := range []string{"engine/server", "engine/mta"} {
		pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi fs.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range pkgs {
			for _, f := range pkg.Files {
				ast.Inspect(f, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.CallExpr:
						if fn, ok := n.Fun.(*ast.Ident); ok && fn.Name == "argError" {
							for _, a := range n.Args {
								if v := reasonOf(a, consts); v != "" {
									sites[v]++ // and once more below, as any use
								}
							}
						}
					case *ast.SelectorExpr:
						if v := reasonOf(n, consts); v != "" {
							sites[v]++
						}
					}
					return true
				})
			}
		}
	}
	return sites
}

// reasonOf returns the value of smtp.ReasonX when e is one, else "".
func reasonOf(e ast.Expr, consts map[string]string) string {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "smtp" {
		return ""
	}
	return consts[sel.Sel.Name]
}

// oneMeaning lists the reasons given for more than one reply whose
// explanation is right for each without sending the learner to the reply's
// own words, and why.
var oneMeaning = map[string]string{
	"hello":             "the 250 to HELO and the one to EHLO; the explanation tells them apart",
	"auth-ok":           "235 from the server and from the MTA's password check: the same success",
	"auth-challenge":    "the 334s of PLAIN, LOGIN (user name, password) and CRAM-MD5, each named",
	"auth-malformed":    "PLAIN, LOGIN and CRAM-MD5, each named with what it takes",
	"nul-byte":          "a NUL in a command and in the message text: one rule",
	"message-too-large": "SIZE= too large on MAIL and a message found too large: both said",
}

// TestExplanationsFitEveryCause: a reason the engine gives for several
// replies, each with its own cause in its text, is explained so that it is
// right for all of them: it sends the learner to the reply's own words,
// which name the cause (or oneMeaning says why it need not). The
// explanation of 501 5.1.3 "Bad recipient address syntax: local part longer
// than 64 octets" had said to write the address in angle brackets.
func TestExplanationsFitEveryCause(t *testing.T) {
	b, err := fs.ReadFile(webFiles, "web/i18n/reasons.en.json")
	if err != nil {
		t.Fatal(err)
	}
	var table explanationTable
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	pointsAtReply := regexp.MustCompile(`(?i)reply text|the reply names|reply (says|gives|names)|words after`)
	for v, n := range reasonSites(t) {
		if n < 2 {
			continue
		}
		x := table.Reasons[v]
		if _, ok := oneMeaning[v]; ok {
			if pointsAtReply.MatchString(x.Meaning + " " + x.Next) {
				t.Errorf("%s: in oneMeaning, but its explanation sends the learner to the reply's words: take it out of oneMeaning", v)
			}
			continue
		}
		if !pointsAtReply.MatchString(x.Meaning + " " + x.Next) {
			t.Errorf("%s is given for %d replies of their own causes; its explanation %q / %q does not send the learner to the reply's words that name the cause", v, n, x.Meaning, x.Next)
		}
	}
	// Where it is written: RFC numbers and section signs, in one form.
	const section = `§\d+(\.\d+)*( \([^)]+\))?`
	const ref = `RFC \d+( ` + section + `(, ` + section + `)*)?( \([^)]+\))?`
	rfc := regexp.MustCompile(`^` + ref + `(; ` + ref + `)*$`)
	for k, x := range table.Reasons {
		if !rfc.MatchString(x.RFC) {
			t.Errorf("reason %s: rfc %q is not of the form \"RFC 5321 §4.1.1, §4.2; RFC 3463 §3.2 (5.1.3)\"", k, x.RFC)
		}
	}
	for k, x := range table.Classes {
		if !rfc.MatchString(x.RFC) {
			t.Errorf("class %s: rfc %q is not of the form \"RFC 5321 §4.2.1\"", k, x.RFC)
		}
	}
}
