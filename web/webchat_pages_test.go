package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// fetchPage fetches a page and returns its response and body.
func fetchPage(t *testing.T, rawURL string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestWebchatFrameMayBeFramedOnlyByTheDeploymentsOriginsAndEscapesItsTexts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		key := widgetDeployment(t, s, url.Values{"AllowedOrigins": {"https://shop.example.com", "http://localhost:3000"},
			"Title": {`Acme <b>support</b>`}, "WelcomeMessage": {`Hi "there" <script>alert(1)</script>`}})

		res, body := fetchPage(t, s.URL+"/webchat/frame?key="+url.QueryEscape(key))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /webchat/frame: %d\n%s", res.StatusCode, body)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'self' https://shop.example.com http://localhost:3000;", "script-src 'self';",
			"default-src 'none';", "connect-src 'self' " + s.URL + " ws" + strings.TrimPrefix(s.URL, "http") + ";"} {
			if !strings.Contains(csp, want) {
				t.Errorf("the frame's Content-Security-Policy %q lacks %q", csp, want)
			}
		}
		for _, want := range []string{`data-key="` + key + `"`, `data-color="#7a1fa2"`, `data-form="on"`,
			`<h1 id="title">Acme &lt;b&gt;support&lt;/b&gt;</h1>`, `Hi &#34;there&#34; &lt;script&gt;alert(1)&lt;/script&gt;`,
			`<label for="f-friendly_name" data-name="Name">`, `<input type="email" id="f-email" name="email" required`,
			`<textarea id="f-query" name="query" required`, `<script src="/static/webchat/frame.js" defer></script>`} {
			if !strings.Contains(body, want) {
				t.Errorf("the frame lacks %s", want)
			}
		}
		if strings.Contains(body, "<b>support") || strings.Contains(body, "<script>alert") {
			t.Error("the frame renders the deployment's texts as markup")
		}
	})
}

func TestWebchatFrameWithoutAFormShowsTheWelcomeBeforeTheChat(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	key := widgetDeployment(t, s, url.Values{"PreEngagement": {`{"disabled":true}`}})
	_, body := fetchPage(t, s.URL+"/webchat/frame?key="+url.QueryEscape(key))
	for _, want := range []string{`data-form="off"`, `<p id="intro" class="welcome">Hi! An agent will be with you shortly.</p>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the frame lacks %s", want)
		}
	}
	if strings.Contains(body, `name="friendly_name"`) {
		t.Error("a deployment without a form shows form fields")
	}
}

func TestWebchatFrameExplainsAMissingOrUnknownKeyWithA404Page(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	for _, tc := range []struct{ query, says string }{
		{"?key=no-such-key", "No chat is set up with this key"},
		{"", "This chat has no deployment key"},
	} {
		res, body := fetchPage(t, s.URL+"/webchat/frame"+tc.query)
		if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, tc.says) {
			t.Errorf("GET /webchat/frame%s: %d %s, want a 404 page saying %q:\n%s", tc.query, res.StatusCode, res.Header.Get("Content-Type"), tc.says, body)
		}
	}
}

func TestWebchatDemoPageEmbedsTheDemoDeploymentInDevModeOnly(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	if res, _ := fetchPage(t, s.URL+"/webchat/demo"); res.StatusCode != http.StatusNotFound {
		t.Errorf("outside dev mode /webchat/demo answers %d, want 404", res.StatusCode)
	}

	for _, tc := range []struct {
		key  string
		want string
	}{
		{"demo-key", `<script src="http://example.com/static/webchat.js" data-deployment-key="demo-key" async></script>`},
		{"", "No demo deployment is configured"},
	} {
		app := web.New(web.Deps{Webchat: s.Webchat, Dev: true, WebchatDemoKey: tc.key})
		res, err := app.Test(httptest.NewRequest(http.MethodGet, "http://example.com/webchat/demo", nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || !strings.Contains(string(b), tc.want) {
			t.Errorf("dev mode with key %q: /webchat/demo answers %d without %s:\n%s", tc.key, res.StatusCode, tc.want, b)
		}
	}
}
