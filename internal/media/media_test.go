package media_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/sid"
)

type fixture struct {
	ctx     context.Context
	d       *db.DB
	engine  *conversations.Engine
	media   *media.Service
	dir     string // the store's directory
	service string // the default conversation service
	now     *time.Time
}

func newFixture(t *testing.T, d *db.DB) fixture {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	engine := conversations.New(d, acct.Sid)
	svc, err := engine.ResolveService(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := media.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := fixture{ctx: ctx, d: d, engine: engine, dir: dir, service: svc.Sid, now: &now}
	f.media = media.New(d, store, bytes.Repeat([]byte("k"), 32), func() time.Time { return *f.now })
	engine.SetMediaLinker(f.media)
	return f
}

func (f fixture) save(t *testing.T, contentType, filename, body string) conversations.Media {
	t.Helper()
	m, err := f.media.Save(f.ctx, f.service, contentType, filename, "", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nothingStored asserts the upload left neither a row nor a file.
func (f fixture) nothingStored(t *testing.T) {
	t.Helper()
	var n int64
	if err := f.d.Gorm.Table("media").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if got := files(t, f.dir); n != 0 || len(got) != 0 {
		t.Fatalf("a refused upload left %d rows and files %v", n, got)
	}
}

func wantError(t *testing.T, err error, kind errs.Kind, code int) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want kind %d code %d", kind, code)
	}
	if errs.KindOf(err) != kind || errs.CodeOf(err) != code {
		t.Fatalf("error %q has kind %d code %d, want kind %d code %d", err, errs.KindOf(err), errs.CodeOf(err), kind, code)
	}
}

func TestSaveKeepsTheBytesAndDescribesThem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		saved, err := f.media.Save(f.ctx, f.service, "Text/Plain; charset=UTF-8", "notes.txt", "", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		want := conversations.Media{Sid: saved.Sid, Size: 5, ContentType: "text/plain; charset=UTF-8", Filename: "notes.txt"}
		if !sid.Is(saved.Sid, sid.Media) || saved != want {
			t.Fatalf("saved %+v, want %+v", saved, want)
		}
		m, err := f.media.Get(f.ctx, f.service, saved.Sid)
		if err != nil {
			t.Fatal(err)
		}
		if m.Author != "system" || m.ServiceSid != f.service || m.ConversationSid != nil || m.MessageSid != nil ||
			!m.DateCreated.Equal(*f.now) || !m.DateUpdated.Equal(*f.now) {
			t.Fatalf("record %+v: want author system, unlinked, dated now", m)
		}
		_, rc, err := f.media.Content(f.ctx, f.service, saved.Sid)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(body) != "hello" {
			t.Fatalf("content %q, %v", body, err)
		}
		other, err := f.engine.CreateService(f.ctx, ptr("other"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.media.Get(f.ctx, other.Sid, saved.Sid)
		wantError(t, err, errs.NotFound, errs.CodeNotFound)
		_, _, err = f.media.Content(f.ctx, other.Sid, saved.Sid)
		wantError(t, err, errs.NotFound, errs.CodeNotFound)
	})
}

func ptr[T any](v T) *T { return &v }

func TestSaveRefusesWhatItCannotKeepAndStoresNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.media.SetMaxSize(10)
		for _, tc := range []struct {
			name, contentType, service, filename, body string
			kind                                       errs.Kind
			code                                       int
		}{
			{"a content type is required", "", "", "", "x", errs.Invalid, media.CodeInvalidContentType},
			{"a content type has a subtype", "image", "", "", "x", errs.Invalid, media.CodeInvalidContentType},
			{"a subtype is not empty", "image/", "", "", "x", errs.Invalid, media.CodeInvalidContentType},
			{"a type is not empty", "/png", "", "", "x", errs.Invalid, media.CodeInvalidContentType},
			{"a content type has one slash", "image/png/x", "", "", "x", errs.Invalid, media.CodeInvalidContentType},
			{"parameters are well formed", "text/plain; charset", "", "", "x", errs.Invalid, media.CodeInvalidContentType},
			{"a byte over the cap is too large", "image/png", "", "", "0123456789a", errs.TooLarge, media.CodeTooLarge},
			{"empty content is refused", "image/png", "", "", "", errs.Invalid, errs.CodeInvalidParam},
			{"a filename is at most 256 bytes", "image/png", "", strings.Repeat("f", 257), "x", errs.Invalid, errs.CodeInvalidParam},
			{"the service must exist", "image/png", "IS00000000000000000000000000000000", "", "x", errs.NotFound, errs.CodeNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				service := f.service
				if tc.service != "" {
					service = tc.service
				}
				_, err := f.media.Save(f.ctx, service, tc.contentType, tc.filename, "", strings.NewReader(tc.body))
				wantError(t, err, tc.kind, tc.code)
				f.nothingStored(t)
			})
		}
		if m := f.save(t, "image/png", "", "0123456789"); m.Size != 10 {
			t.Fatalf("media exactly at the cap saved as %d bytes", m.Size)
		}
	})
}

func TestAMessageLinksMediaOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c, err := f.engine.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		if err != nil {
			t.Fatal(err)
		}
		photo := f.save(t, "image/jpeg", "photo.jpg", "jpeg bytes")
		doc := f.save(t, "application/pdf", "", "pdf bytes")
		msg, err := f.engine.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{MediaSids: []string{doc.Sid, photo.Sid}})
		if err != nil {
			t.Fatal(err)
		}
		var listed []conversations.Media
		if msg.Media == nil || json.Unmarshal([]byte(*msg.Media), &listed) != nil || len(listed) != 2 || listed[0] != doc || listed[1] != photo {
			t.Fatalf("message media %v, want [%+v %+v] in the order given", msg.Media, doc, photo)
		}
		*f.now = f.now.Add(time.Minute)
		m, err := f.media.Get(f.ctx, f.service, photo.Sid)
		if err != nil {
			t.Fatal(err)
		}
		if m.MessageSid == nil || *m.MessageSid != msg.Sid || m.ConversationSid == nil || *m.ConversationSid != c.Sid {
			t.Fatalf("linked media %+v, want message %s of %s", m, msg.Sid, c.Sid)
		}
		wantError(t, f.media.Delete(f.ctx, f.service, photo.Sid), errs.Invalid, errs.CodeInvalidParam)

		other, err := f.engine.CreateService(f.ctx, ptr("other"))
		if err != nil {
			t.Fatal(err)
		}
		elsewhere, err := f.media.Save(f.ctx, other.Sid, "image/png", "", "", strings.NewReader("png"))
		if err != nil {
			t.Fatal(err)
		}
		fresh := f.save(t, "image/png", "", "png")
		for _, tc := range []struct {
			name string
			sids []string
			kind errs.Kind
			code int
		}{
			{"media already sent cannot be sent again", []string{fresh.Sid, photo.Sid}, errs.Invalid, errs.CodeInvalidParam},
			{"unknown media is not found", []string{"ME00000000000000000000000000000000"}, errs.NotFound, errs.CodeNotFound},
			{"another service's media is not found", []string{elsewhere.Sid}, errs.NotFound, errs.CodeNotFound},
			{"a media SID has the ME prefix", []string{"IM00000000000000000000000000000000"}, errs.Invalid, media.CodeInvalidSid},
			{"the same media is attached once", []string{fresh.Sid, fresh.Sid}, errs.Invalid, errs.CodeInvalidParam},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.engine.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{MediaSids: tc.sids})
				wantError(t, err, tc.kind, tc.code)
				msgs, _, err := f.engine.Messages(f.ctx, f.service, c.Sid, false, conversations.Page{Limit: 10})
				if err != nil || len(msgs) != 1 {
					t.Fatalf("after a refused message the conversation has %d messages (%v), want 1", len(msgs), err)
				}
				if m, err := f.media.Get(f.ctx, f.service, fresh.Sid); err != nil || m.MessageSid != nil {
					t.Fatalf("a refused message claimed %+v (%v)", m, err)
				}
			})
		}

		if err := f.media.Delete(f.ctx, f.service, fresh.Sid); err != nil {
			t.Fatal(err)
		}
		_, err = f.media.Get(f.ctx, f.service, fresh.Sid)
		wantError(t, err, errs.NotFound, errs.CodeNotFound)
		for _, p := range files(t, f.dir) {
			if strings.HasSuffix(p, fresh.Sid) {
				t.Fatalf("deleted media left %s", p)
			}
		}
		wantError(t, f.media.Delete(f.ctx, f.service, fresh.Sid), errs.NotFound, errs.CodeNotFound)
	})
}

func TestSignedURLsOpenContentUntilTheyExpire(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		m := f.save(t, "image/gif", "", "gif bytes")
		u, err := url.Parse(f.media.SignedURL(m.Sid, 5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != "/media/"+m.Sid {
			t.Fatalf("signed URL path %q", u.Path)
		}
		exp, sig := u.Query().Get("Expires"), u.Query().Get("Signature")
		_, rc, err := f.media.SignedContent(f.ctx, m.Sid, exp, sig)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		if string(body) != "gif bytes" {
			t.Fatalf("signed content %q", body)
		}
		other := f.save(t, "image/gif", "", "other")
		for _, tc := range []struct{ name, sid, expires, signature string }{
			{"the signature covers the media", other.Sid, exp, sig},
			{"the signature covers the expiry", m.Sid, exp + "0", sig},
			{"a changed signature fails", m.Sid, exp, strings.ToUpper(sig)},
			{"a missing signature fails", m.Sid, exp, ""},
			{"the expiry is a number", m.Sid, "soon", sig},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, f.media.VerifySigned(tc.sid, tc.expires, tc.signature), errs.Forbidden, errs.CodeForbidden)
				_, _, err := f.media.SignedContent(f.ctx, tc.sid, tc.expires, tc.signature)
				wantError(t, err, errs.Forbidden, errs.CodeForbidden)
			})
		}
		*f.now = f.now.Add(5 * time.Minute)
		wantError(t, f.media.VerifySigned(m.Sid, exp, sig), errs.Forbidden, errs.CodeForbidden)
		key2 := media.New(d, nil, bytes.Repeat([]byte("j"), 32), func() time.Time { return f.now.Add(-time.Minute) })
		wantError(t, key2.VerifySigned(m.Sid, exp, sig), errs.Forbidden, errs.CodeForbidden)
	})
}

func TestCheckHoldsEachChannelToWhatItCarries(t *testing.T) {
	svc := media.New(nil, nil, nil, nil)
	one := func(contentType string, size int64) []conversations.Media {
		return []conversations.Media{{Sid: "ME1", ContentType: contentType, Size: size}}
	}
	many := func(n int, contentType string, size int64) []conversations.Media {
		out := make([]conversations.Media, n)
		for i := range out {
			out[i] = conversations.Media{Sid: "ME" + string(rune('a'+i)), ContentType: contentType, Size: size}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		channel string
		media   []conversations.Media
		kind    errs.Kind
		code    int // 0: allowed
	}{
		{"sms carries a JPEG under 5 MB", "sms", one("image/jpeg", 4*media.MB), 0, 0},
		{"sms takes content type parameters", "SMS", one("image/JPEG; name=x.jpg", 1), 0, 0},
		{"sms carries a PDF", "sms", one("application/pdf", 1000), 0, 0},
		{"sms refuses a file over 5 MB", "sms", one("image/png", 5*media.MB+1), errs.TooLarge, media.CodeOverProviderLimit},
		{"sms refuses 5 MB in all over several files", "sms", many(2, "image/gif", 3*media.MB), errs.TooLarge, media.CodeOverProviderLimit},
		{"sms refuses a type MMS cannot deliver", "sms", one("text/html", 10), errs.Invalid, media.CodeInvalidContentType},
		{"sms carries up to 10 files", "sms", many(10, "image/png", 1000), 0, 0},
		{"sms refuses an 11th file", "sms", many(11, "image/png", 1000), errs.Invalid, media.CodeTooManyFiles},
		{"whatsapp carries 16 MB of video", "whatsapp", one("video/mp4", 16*media.MB), 0, 0},
		{"whatsapp refuses more than 16 MB", "whatsapp", one("video/mp4", 16*media.MB+1), errs.TooLarge, media.CodeOverProviderLimit},
		{"whatsapp carries documents", "whatsapp", one("application/vnd.openxmlformats-officedocument.wordprocessingml.document", 1), 0, 0},
		{"whatsapp refuses GIFs", "whatsapp", one("image/gif", 1), errs.Invalid, media.CodeInvalidContentType},
		{"whatsapp carries one file a message", "whatsapp", many(2, "image/png", 1), errs.Invalid, media.CodeTooManyFiles},
		{"chat carries any type up to 150 MB", "chat", many(3, "application/x-anything", media.MaxSize), 0, 0},
		{"messenger carries 25 MB", "messenger", one("video/mp4", 25*media.MB+1), errs.TooLarge, media.CodeOverProviderLimit},
		{"a message without media passes", "sms", nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := svc.Check(tc.channel, tc.media)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantError(t, err, tc.kind, tc.code)
		})
	}
}
