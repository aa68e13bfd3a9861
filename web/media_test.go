package web_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// mcsMedia is the Media Content Service's media resource as clients read it.
type mcsMedia struct {
	Sid               string  `json:"sid"`
	ServiceSid        string  `json:"service_sid"`
	DateCreated       string  `json:"date_created"`
	DateUploadUpdated string  `json:"date_upload_updated"`
	DateUpdated       string  `json:"date_updated"`
	Size              int64   `json:"size"`
	ContentType       string  `json:"content_type"`
	Filename          *string `json:"filename"`
	Author            string  `json:"author"`
	Category          string  `json:"category"`
	MessageSid        *string `json:"message_sid"`
	ChannelSid        *string `json:"channel_sid"`
	URL               string  `json:"url"`
	Links             struct {
		Content                string `json:"content"`
		ContentDirectTemporary string `json:"content_direct_temporary"`
	} `json:"links"`
	IsMultipartUpstream *bool `json:"is_multipart_upstream"`
}

// twilioErrorBody is Twilio's error body.
type twilioErrorBody struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// mcsCall is one raw HTTP request: twilio-go has no MCS client.
type mcsCall struct {
	method, path string
	body         []byte
	header       map[string]string
	anonymous    bool // no Basic credentials
}

func (c mcsCall) do(t *testing.T, s *webtest.Server) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(c.method, s.URL+c.path, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if !c.anonymous {
		req.SetBasicAuth(s.AccountSid, s.AuthToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// upload posts a file to the MCS and decodes the created media.
func upload(t *testing.T, s *webtest.Server, service, contentType, query string, body []byte) mcsMedia {
	t.Helper()
	res, raw := mcsCall{method: "POST", path: "/v1/Services/" + service + "/Media" + query, body: body,
		header: map[string]string{"Content-Type": contentType}}.do(t, s)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload answered %d %s", res.StatusCode, raw)
	}
	var m mcsMedia
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// wantErrorBody asserts a raw response is Twilio's error with code and status.
func wantErrorBody(t *testing.T, res *http.Response, raw []byte, code, status int) {
	t.Helper()
	var e twilioErrorBody
	if err := json.Unmarshal(raw, &e); err != nil || res.StatusCode != status || e.Code != code || e.Status != status || e.Message == "" {
		t.Fatalf("answered %d %s, want Twilio error %d with status %d", res.StatusCode, raw, code, status)
	}
}

// nothingStored asserts the server holds no media, neither row nor file.
func nothingStored(t *testing.T, s *webtest.Server) {
	t.Helper()
	var n int64
	if err := s.DB.Gorm.Table("media").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	var stored []string
	_ = filepath.WalkDir(s.MediaDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			stored = append(stored, p)
		}
		return nil
	})
	if n != 0 || len(stored) != 0 {
		t.Fatalf("the server kept %d media rows and files %v", n, stored)
	}
}

func TestMediaUploadAnswersLikeMCSAndServesTheBytes(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		service := newService(t, s, "media")
		png := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 5000) // over the server's 8 KB read-ahead
		m := upload(t, s, service, "image/png", "?Filename=photo.png", png)
		path := "/v1/Services/" + service + "/Media/" + m.Sid
		if !strings.HasPrefix(m.Sid, "ME") || m.ServiceSid != service || m.Size != int64(len(png)) ||
			m.ContentType != "image/png" || m.Filename == nil || *m.Filename != "photo.png" || m.Author != "system" ||
			m.Category != "media" || m.MessageSid != nil || m.ChannelSid != nil || m.URL != path ||
			m.Links.Content != path+"/Content" || m.IsMultipartUpstream == nil || *m.IsMultipartUpstream ||
			!strings.HasPrefix(m.Links.ContentDirectTemporary, s.URL+"/media/"+m.Sid+"?Expires=") {
			t.Fatalf("created %+v", m)
		}
		for _, d := range []string{m.DateCreated, m.DateUploadUpdated, m.DateUpdated} {
			if _, err := time.Parse(time.RFC3339, d); err != nil {
				t.Fatalf("date %q is not ISO-8601", d)
			}
		}

		res, raw := mcsCall{method: "GET", path: path}.do(t, s)
		var fetched mcsMedia
		if res.StatusCode != 200 || json.Unmarshal(raw, &fetched) != nil || fetched.Sid != m.Sid || fetched.Size != m.Size ||
			*fetched.Filename != "photo.png" {
			t.Fatalf("fetch answered %d %s", res.StatusCode, raw)
		}
		res, raw = mcsCall{method: "GET", path: m.Links.Content}.do(t, s)
		if res.StatusCode != 200 || !bytes.Equal(raw, png) || res.Header.Get("Content-Type") != "image/png" ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
			t.Fatalf("content answered %d with %d bytes and headers %v", res.StatusCode, len(raw), res.Header)
		}

		// The file name may come in a Content-Disposition header instead; a
		// document downloads rather than opening as a page of ours.
		doc := upload(t, s, service, "text/html", "", []byte("<script>alert(1)</script>"))
		if doc.Filename != nil {
			t.Fatalf("media uploaded without a name has filename %q, want null", *doc.Filename)
		}
		res, raw = mcsCall{method: "POST", path: "/v1/Services/" + service + "/Media", body: []byte("%PDF-1.4"),
			header: map[string]string{"Content-Type": "application/pdf", "Content-Disposition": `attachment; filename="report q1.pdf"`}}.do(t, s)
		var pdf mcsMedia
		if res.StatusCode != 201 || json.Unmarshal(raw, &pdf) != nil || pdf.Filename == nil || *pdf.Filename != "report q1.pdf" {
			t.Fatalf("upload with Content-Disposition answered %d %s", res.StatusCode, raw)
		}
		res, _ = mcsCall{method: "GET", path: doc.Links.Content}.do(t, s)
		if !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") || res.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("HTML content served with headers %v, want an attachment under a sandbox", res.Header)
		}
	})
}

func TestMediaNeedsCredentialsOrASignedURL(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		service := newService(t, s, "media")
		m := upload(t, s, service, "image/jpeg", "", []byte("jpeg"))
		for _, c := range []mcsCall{
			{method: "GET", path: m.Links.Content, anonymous: true},
			{method: "GET", path: m.URL, anonymous: true},
			{method: "DELETE", path: m.URL, anonymous: true},
			{method: "POST", path: "/v1/Services/" + service + "/Media", body: []byte("x"), anonymous: true,
				header: map[string]string{"Content-Type": "image/jpeg"}},
		} {
			res, raw := c.do(t, s)
			wantErrorBody(t, res, raw, 20003, 401)
		}
		other, err := s.Twilio.ConversationsV1.CreateService((&conv.CreateServiceParams{}).SetFriendlyName("other"))
		if err != nil {
			t.Fatal(err)
		}
		res, raw := mcsCall{method: "GET", path: "/v1/Services/" + *other.Sid + "/Media/" + m.Sid + "/Content"}.do(t, s)
		wantErrorBody(t, res, raw, 20404, 404)

		// The temporary URL works without credentials while it lasts.
		res, raw = mcsCall{method: "GET", path: strings.TrimPrefix(m.Links.ContentDirectTemporary, s.URL), anonymous: true}.do(t, s)
		if res.StatusCode != 200 || string(raw) != "jpeg" || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("signed URL answered %d %q", res.StatusCode, raw)
		}
		signed, err := url.Parse(m.Links.ContentDirectTemporary)
		if err != nil {
			t.Fatal(err)
		}
		q := signed.Query()
		second := upload(t, s, service, "image/jpeg", "", []byte("other"))
		expired, err := url.Parse(s.Media.SignedURL(m.Sid, -time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for name, path := range map[string]string{
			"an expired URL":             expired.String(),
			"a changed signature":        fmt.Sprintf("/media/%s?Expires=%s&Signature=%s", m.Sid, q.Get("Expires"), flipFirst(q.Get("Signature"))),
			"a later expiry":             fmt.Sprintf("/media/%s?Expires=%s0&Signature=%s", m.Sid, q.Get("Expires"), q.Get("Signature")),
			"another media's signature":  fmt.Sprintf("/media/%s?%s", second.Sid, signed.RawQuery),
			"no signature at all":        "/media/" + m.Sid,
			"credentials instead of one": "/media/" + m.Sid + "?Expires=" + q.Get("Expires"),
		} {
			res, raw := mcsCall{method: "GET", path: path, anonymous: name != "credentials instead of one"}.do(t, s)
			if res.StatusCode != 403 {
				t.Fatalf("%s answered %d %s, want 403", name, res.StatusCode, raw)
			}
			wantErrorBody(t, res, raw, 20403, 403)
		}
	})
}

func TestMessagesCarryUploadedMediaThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		service := newService(t, s, "media")
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateServiceConversation(service, (&conv.CreateServiceConversationParams{}).SetFriendlyName("with media"))
		if err != nil {
			t.Fatal(err)
		}
		m := upload(t, s, service, "image/jpeg", "?Filename=car.jpg", []byte("a car"))
		msg, err := tw.CreateServiceConversationMessage(service, *c.Sid, (&conv.CreateServiceConversationMessageParams{}).SetAuthor("agent").SetMediaSid(m.Sid))
		if err != nil {
			t.Fatal(err)
		}
		want := []any{map[string]any{"sid": m.Sid, "size": float64(5), "content_type": "image/jpeg", "filename": "car.jpg"}}
		got, err := tw.FetchServiceConversationMessage(service, *c.Sid, *msg.Sid)
		if err != nil {
			t.Fatal(err)
		}
		for _, listed := range []*[]any{msg.Media, got.Media} {
			if listed == nil || fmt.Sprint(*listed) != fmt.Sprint(want) {
				t.Fatalf("message media %v, want %v", listed, want)
			}
		}
		res, raw := mcsCall{method: "GET", path: m.URL}.do(t, s)
		var linked mcsMedia
		if res.StatusCode != 200 || json.Unmarshal(raw, &linked) != nil || linked.MessageSid == nil || *linked.MessageSid != *msg.Sid ||
			linked.ChannelSid == nil || *linked.ChannelSid != *c.Sid {
			t.Fatalf("linked media answered %d %s", res.StatusCode, raw)
		}

		_, err = tw.CreateServiceConversationMessage(service, *c.Sid, (&conv.CreateServiceConversationMessageParams{}).SetMediaSid(m.Sid))
		wantTwilioError(t, err, 20001, 400)
		_, err = tw.CreateServiceConversationMessage(service, *c.Sid, (&conv.CreateServiceConversationMessageParams{}).SetMediaSid("ME00000000000000000000000000000000"))
		wantTwilioError(t, err, 20404, 404)
		// Media of another service is not found from this one.
		elsewhere, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName("default service"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = tw.CreateConversationMessage(*elsewhere.Sid, (&conv.CreateConversationMessageParams{}).SetMediaSid(upload(t, s, service, "image/png", "", []byte("png")).Sid))
		wantTwilioError(t, err, 20404, 404)
		res, raw = mcsCall{method: "DELETE", path: m.URL}.do(t, s)
		wantErrorBody(t, res, raw, 20001, 400)

		unused := upload(t, s, service, "image/jpeg", "", []byte("unused"))
		if res, raw := (mcsCall{method: "DELETE", path: unused.URL}).do(t, s); res.StatusCode != 204 {
			t.Fatalf("delete answered %d %s", res.StatusCode, raw)
		}
		res, raw = mcsCall{method: "GET", path: unused.Links.Content}.do(t, s)
		wantErrorBody(t, res, raw, 20404, 404)
		res, raw = mcsCall{method: "GET", path: strings.TrimPrefix(unused.Links.ContentDirectTemporary, s.URL), anonymous: true}.do(t, s)
		wantErrorBody(t, res, raw, 20404, 404)
	})
}

func TestRefusedUploadsStoreNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		service := newService(t, s, "media")
		for _, ct := range []string{"", "image", "image/png/x", "text/plain; charset"} {
			res, raw := mcsCall{method: "POST", path: "/v1/Services/" + service + "/Media", body: []byte("bytes"),
				header: map[string]string{"Content-Type": ct}}.do(t, s)
			wantErrorBody(t, res, raw, media.CodeInvalidContentType, 400)
		}
		res, raw := mcsCall{method: "POST", path: "/v1/Services/" + service + "/Media",
			header: map[string]string{"Content-Type": "image/png"}}.do(t, s)
		wantErrorBody(t, res, raw, 20001, 400)
		res, raw = mcsCall{method: "POST", path: "/v1/Services/IS00000000000000000000000000000000/Media", body: []byte("x"),
			header: map[string]string{"Content-Type": "image/png"}}.do(t, s)
		wantErrorBody(t, res, raw, 20404, 404)

		// Over 150 MB declared: refused before anything is stored.
		res, raw = rawRequest(t, s, "POST", "/v1/Services/"+service+"/Media",
			fmt.Sprintf("Content-Type: image/png\r\nContent-Length: %d\r\n", media.MaxSize+1), bytes.Repeat([]byte("x"), 9000))
		wantErrorBody(t, res, raw, media.CodeTooLarge, 413)
		nothingStored(t, s)
	})
}

// rawRequest writes an HTTP/1.1 request by hand (a body shorter than
// declared, or chunks), then reads the answer.
func rawRequest(t *testing.T, s *webtest.Server, method, path, headers string, body []byte) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: test\r\nAuthorization: Basic %s\r\n%s\r\n", method, path, basicAuth(s.AccountSid, s.AuthToken), headers)
	go func() { _, _ = conn.Write(append([]byte(req), body...)) }() // the server may stop reading early
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Close {
		t.Fatalf("a refused body left the connection open: its unread bytes would be read as the next request")
	}
	return res, raw
}

// flipFirst changes a signature's first character.
func flipFirst(sig string) string {
	if sig[0] == 'A' {
		return "B" + sig[1:]
	}
	return "A" + sig[1:]
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestOtherRoutesKeepTheirOneMegabyteLimit(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		// Under the limit but over the server's read-ahead: read in full.
		long := strings.Repeat("é", 16*1024)
		c, err := s.Twilio.ConversationsV1.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName("long"))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := s.Twilio.ConversationsV1.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).SetBody(long))
		if err != nil || *msg.Body != long {
			t.Fatalf("a 32 KB body came back %d bytes long (%v)", len(*msg.Body), err)
		}

		form := "FriendlyName=" + strings.Repeat("a", 1<<20)
		res, raw := rawRequest(t, s, "POST", "/v1/Conversations",
			fmt.Sprintf("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", len(form)), []byte(form[:9000]))
		wantErrorBody(t, res, raw, 20001, 413)

		// A chunked body declares no length; the bytes that arrive count.
		chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(form), form)
		res, raw = rawRequest(t, s, "POST", "/v1/Conversations",
			"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n", []byte(chunked))
		wantErrorBody(t, res, raw, 20001, 413)
		all, err := s.Twilio.ConversationsV1.ListConversation(nil)
		if err != nil || len(all) != 1 {
			t.Fatalf("after refused bodies there are %d conversations (%v), want 1", len(all), err)
		}
	})
}
