package twiliofake

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/sid"
)

// Media is an attachment a customer sends.
type Media struct {
	ContentType string
	Data        []byte
}

type mediaFile struct {
	Media
	message string
	token   string // the storage URL's signature
}

// AddMedia stores an attachment of a message and returns its Twilio media
// URL (…/Accounts/{AC}/Messages/{MessageSid}/Media/{ME…}), as MediaUrl{N}
// of an inbound webhook carries it. The URL answers a GET with valid Basic
// auth by a 302 to the storage host, which serves the content to requests
// without credentials only.
func (s *Server) AddMedia(messageSid string, m Media) string {
	mediaSid := sid.New(sid.Media)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[mediaSid] = mediaFile{Media: m, message: messageSid, token: randomHex(16)}
	return s.URL + s.uri("Messages", messageSid, "Media", mediaSid)
}

// mediaRedirect is GET …/Messages/{MM}/Media/{ME}.
func (s *Server) mediaRedirect(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	mediaSid := r.PathValue("media")
	s.mu.Lock()
	f, ok := s.media[mediaSid]
	s.mu.Unlock()
	if !ok || f.message != r.PathValue("message") {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	// A presigned storage URL, as Twilio's redirects carry.
	q := url.Values{"Expires": {strconv.FormatInt(time.Now().Add(4*time.Hour).Unix(), 10)}, "Signature": {f.token}}
	http.Redirect(w, r, s.storage.URL+"/media/"+mediaSid+"?"+q.Encode(), http.StatusFound)
}

// serveStorage is the storage host. Like S3 with a presigned URL, it refuses
// a request that also carries an Authorization header, and here that means
// our credentials followed the redirect.
func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code>` +
			`<Message>Only one auth mechanism allowed: credentials were forwarded to the media storage host</Message></Error>`))
		return
	}
	mediaSid, ok := strings.CutPrefix(r.URL.Path, "/media/")
	s.mu.Lock()
	f, found := s.media[mediaSid]
	s.mu.Unlock()
	if r.Method != http.MethodGet || !ok || !found || r.URL.Query().Get("Signature") != f.token {
		http.Error(w, "AccessDenied", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	_, _ = w.Write(f.Data)
}
