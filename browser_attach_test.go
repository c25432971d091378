package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserAttachFiles attaches files in the mail client through the
// file input, as the browser's file dialog would: one whose name is
// markup, and one that is removed from the list with the keyboard and
// chosen again. Bob's mailbox lists both as text, and the raw source shows
// the MIME parts with every byte of the files in base64.
func TestBrowserAttachFiles(t *testing.T) {
	dir := t.TempDir()
	markup := `<img src=x onerror=alert(1)>.bin`
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	notes := []byte("hello, Bob\n")
	for name, content := range map[string][]byte{markup: bin, "notes.txt": notes} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	const form = `.smtplab-panel-mailbox form.smtplab-compose`
	do(t, ctx, "the mail client", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-mailbox"]`)),
		chromedp.Click(chromedp.CSS(`.smtplab-compose-box summary`)),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=from]`), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=to]`), "bob@example.org"),
		chromedp.SendKeys(chromedp.CSS(form+` textarea`), "Two files."))

	// The file input has a label, and lists what was chosen.
	if label := eval[string](t, ctx, `(() => { const i = document.querySelector('`+form+` input[type=file]'); return i.labels[0].textContent; })()`); label != "Attach files" {
		t.Errorf("the file input's label is %q", label)
	}
	do(t, ctx, "choosing the files", chromedp.SetUploadFiles(chromedp.CSS(form+` input[type=file]`),
		[]string{filepath.Join(dir, "notes.txt"), filepath.Join(dir, markup)}))
	listed := func() string {
		return eval[string](t, ctx, `[...document.querySelectorAll('`+form+` .smtplab-attach-list li')].map(li => li.textContent).join('|')`)
	}
	waitFor(t, ctx, "two files listed", `document.querySelectorAll('`+form+` .smtplab-attach-list li').length === 2`)
	if got, want := listed(), "notes.txt (11 bytes) Remove|"+markup+" (256 bytes) Remove"; got != want {
		t.Errorf("the list says %q, want %q", got, want)
	}

	// Removed with the keyboard, the focus back on the file input.
	do(t, ctx, "removing notes.txt", chromedp.Focus(chromedp.CSS(form+` .smtplab-attach-remove`)), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "one file left", `document.querySelectorAll('`+form+` .smtplab-attach-list li').length === 1`)
	if !eval[bool](t, ctx, `document.activeElement === document.querySelector('`+form+` input[type=file]')`) {
		t.Error("after Remove the focus is not on the file input")
	}
	do(t, ctx, "choosing notes.txt again", chromedp.SetUploadFiles(chromedp.CSS(form+` input[type=file]`), []string{filepath.Join(dir, "notes.txt")}))
	waitFor(t, ctx, "two files again", `document.querySelectorAll('`+form+` .smtplab-attach-list li').length === 2`)

	do(t, ctx, "sending", chromedp.Click(chromedp.CSS(form+` button[type=submit]`)))
	waitFor(t, ctx, "the message in Bob's mailbox", `document.querySelectorAll('.smtplab-panel-mailbox .smtplab-message-attachments li').length === 2`)
	shown := eval[string](t, ctx, `[...document.querySelectorAll('.smtplab-panel-mailbox .smtplab-message-attachments li')].map(li => li.textContent).join('|')`)
	if want := markup + " (application/octet-stream, 256 bytes)|notes.txt (text/plain, 11 bytes)"; shown != want {
		t.Errorf("the mailbox lists %q, want %q", shown, want)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("a file name became %d <img> elements", n)
	}

	raw := eval[string](t, ctx, `document.querySelector('.smtplab-panel-mailbox .smtplab-raw').textContent`)
	encoded := base64.StdEncoding.EncodeToString(bin)
	var lines []string
	for len(encoded) > 76 {
		lines, encoded = append(lines, encoded[:76]), encoded[76:]
	}
	lines = append(lines, encoded)
	for _, want := range []string{
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"smtplab-boundary-",
		"Content-Type: text/plain; charset=utf-8\r\n\r\nTwo files.\r\n--smtplab-boundary-",
		fmt.Sprintf("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--",
			markup, strings.Join(lines, "\r\n")),
		"Content-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			base64.StdEncoding.EncodeToString(notes) + "\r\n--",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("the raw source lacks %q:\n%s", want, raw)
		}
	}
	if !strings.Contains(transcript(t, ctx), `attached: "`+markup+`" (256 octets, 352 in base64), "notes.txt" (11 octets, 16 in base64)`) {
		t.Errorf("the mail client's note does not list the files:\n%s", transcript(t, ctx))
	}
}

// TestBrowserAttachmentsClearedWhenSent: files chosen for a message stay
// listed when the mail client refuses it (no recipient yet), to send
// again once mended, and are gone from the form once it took the message.
func TestBrowserAttachmentsClearedWhenSent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("hello, Bob\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	const form = `.smtplab-panel-mailbox form.smtplab-compose`
	const status = `document.querySelector('` + form + ` .smtplab-compose-status').textContent`
	listed := `document.querySelectorAll('` + form + ` .smtplab-attach-list li').length`
	do(t, ctx, "the mail client", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-mailbox"]`)),
		chromedp.Click(chromedp.CSS(`.smtplab-compose-box summary`)),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=from]`), "alice@example.com"),
		chromedp.SetUploadFiles(chromedp.CSS(form+` input[type=file]`), []string{file}))
	waitFor(t, ctx, "the file listed", listed+` === 1`)

	do(t, ctx, "sending without a recipient", chromedp.Click(chromedp.CSS(form+` button[type=submit]`)))
	waitFor(t, ctx, "the refusal", status+`.includes('recipient')`)
	if n := eval[int](t, ctx, listed); n != 1 {
		t.Errorf("after a refused send %d files are listed, want the one chosen", n)
	}

	// No From: the placeholder is not a value, and the client says so.
	eval[string](t, ctx, `document.querySelector('`+form+` input[name=from]').value = ''`)
	do(t, ctx, "sending to Bob from nobody", chromedp.SendKeys(chromedp.CSS(form+` input[name=to]`), "bob@example.org"),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)))
	waitFor(t, ctx, "the refusal", status+`.includes('needs a From address')`)

	do(t, ctx, "sending to Bob", chromedp.SendKeys(chromedp.CSS(form+` input[name=from]`), "alice@example.com"),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)))
	waitFor(t, ctx, "the message taken", status+`.includes('Handed to the mail client')`)
	waitFor(t, ctx, "the file gone from the form", listed+` === 0 && document.querySelector('`+form+` .smtplab-attach-list').hidden`)
	if !strings.Contains(transcript(t, ctx), `attached: "notes.txt"`) {
		t.Errorf("the mail client did not send the file:\n%s", transcript(t, ctx))
	}
}

// TestBrowserFileChosenWhileSendingStays: a file chosen while the mail
// client is still taking a message was not part of it, so it stays listed
// for the next message, while the file that went is taken off. The
// engine's submit is held back until the second file is chosen.
func TestBrowserFileChosenWhileSendingStays(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.txt"), filepath.Join(dir, "second.txt")
	for _, f := range []string{first, second} {
		if err := os.WriteFile(f, []byte("hello\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	// Hold every submit until the test lets it go.
	do(t, ctx, "holding submit", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
globalThis.smtplabTestGate = new Promise((resolve) => { globalThis.smtplabTestRelease = resolve; });
let held;
Object.defineProperty(globalThis, 'smtpLab', { configurable: true, get() { return held; }, set(api) {
  held = { ...api, submit: async (...args) => { await globalThis.smtplabTestGate; return api.submit(...args); } };
}});`})
		return chromedp.Void{}, err
	})
	openLab(t, ctx, url)
	const form = `.smtplab-panel-mailbox form.smtplab-compose`
	listed := `[...document.querySelectorAll('` + form + ` .smtplab-attach-list li')].map((li) => li.firstChild.textContent).join('|')`
	do(t, ctx, "the mail client", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-mailbox"]`)),
		chromedp.Click(chromedp.CSS(`.smtplab-compose-box summary`)),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=from]`), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=to]`), "bob@example.org"),
		chromedp.SetUploadFiles(chromedp.CSS(form+` input[type=file]`), []string{first}))
	waitFor(t, ctx, "the first file listed", listed+`.includes('first.txt')`)
	do(t, ctx, "sending, then choosing another file", chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
		chromedp.SetUploadFiles(chromedp.CSS(form+` input[type=file]`), []string{second}))
	waitFor(t, ctx, "both files listed", listed+`.includes('second.txt') && `+listed+`.includes('first.txt')`)
	eval[bool](t, ctx, `(globalThis.smtplabTestRelease(), true)`)
	waitFor(t, ctx, "the message taken", `document.querySelector('`+form+` .smtplab-compose-status').textContent.includes('Handed to the mail client')`)
	if got := eval[string](t, ctx, listed); got != "second.txt (6 bytes) " {
		t.Errorf("after the send the list holds %q, want only the file chosen while it was sent", got)
	}
}
