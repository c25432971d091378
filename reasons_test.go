package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"sort"
	"strconv"
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
