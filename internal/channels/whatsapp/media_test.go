package whatsapp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/whatsapp/metafake"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestFetchMediaFromTheFakeInTwoSteps(t *testing.T) {
	f := newFake(t, metafake.Config{})
	p := newProvider(t, f.ProviderConfig())
	id := f.AddMedia([]byte("%PDF-1.7"), "application/pdf")
	body, ct, err := p.FetchMedia(context.Background(), f.BaseURL()+"/"+id)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	data, _ := io.ReadAll(body)
	if string(data) != "%PDF-1.7" || ct != "application/pdf" {
		t.Errorf("fetched %q as %q", data, ct)
	}
	noProblems(t, f)
}

func TestFetchMediaFailures(t *testing.T) {
	f := newFake(t, metafake.Config{})
	id := f.AddMedia([]byte("JPEG"), "image/jpeg")
	good := newProvider(t, f.ProviderConfig())
	cfg := f.ProviderConfig()
	cfg.Secret = "expired"
	bad := newProvider(t, cfg)
	cases := []struct {
		name string
		url  string
		p    interface {
			FetchMedia(context.Context, string) (io.ReadCloser, string, error)
		}
		says string
	}{
		{"an unknown media id", f.BaseURL() + "/123", good, "does not exist"},
		{"a bad access token", f.BaseURL() + "/" + id, bad, "Invalid OAuth access token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := c.p.FetchMedia(context.Background(), c.url)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v, want one saying %q", err, c.says)
			}
		})
	}
}

func TestFetchMediaSendsTheTokenOnlyToTheGraphAPI(t *testing.T) {
	var calls atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer other.Close()
	p := newProvider(t, channels.Config{Secret: "t", AppSecret: "s", BaseURL: graph})
	for _, u := range []string{other.URL + "/v21.0/123", graph + "/123/../../x", graph + "/", graph + "123", graph + "/1?x=y"} {
		if _, _, err := p.FetchMedia(context.Background(), u); errs.KindOf(err) != errs.Invalid {
			t.Errorf("FetchMedia(%q) err = %v, want errs.Invalid", u, err)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("another host got %d requests", n)
	}
}

// TestFetchMediaFollowsMetasAnswer covers download answers the fake does not
// give: a failing download host and one that does not know the type.
func TestFetchMediaFollowsMetasAnswer(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		downloadCT string
		wantCT     string
		fails      bool
	}{
		{"the download's own type wins", 200, "image/png", "image/png", false},
		{"an octet-stream download takes the metadata's type", 200, "application/octet-stream", "image/jpeg", false},
		{"a failed download is an error", 404, "text/plain", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer t" {
					t.Errorf("%s without the token", r.URL)
				}
				if r.URL.Path == "/v21.0/42" {
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, `{"messaging_product":"whatsapp","url":"`+srv.URL+`/dl?mid=42","mime_type":"image/jpeg","sha256":"x","file_size":"4","id":"42"}`)
					return
				}
				w.Header().Set("Content-Type", c.downloadCT)
				w.WriteHeader(c.status)
				io.WriteString(w, "DATA")
			}))
			defer srv.Close()
			p := newProvider(t, channels.Config{Secret: "t", AppSecret: "s", BaseURL: srv.URL + "/v21.0"})
			body, ct, err := p.FetchMedia(context.Background(), srv.URL+"/v21.0/42")
			if c.fails {
				if err == nil || !strings.Contains(err.Error(), "404") {
					t.Fatalf("err = %v, want the 404", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer body.Close()
			if data, _ := io.ReadAll(body); string(data) != "DATA" || ct != c.wantCT {
				t.Errorf("got %q as %q, want DATA as %q", data, ct, c.wantCT)
			}
		})
	}
}
