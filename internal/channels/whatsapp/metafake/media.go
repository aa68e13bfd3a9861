package metafake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
)

// downloadPath is where media downloads live, like Meta's lookaside host.
const downloadPath = "/whatsapp_business/attachments/"

type storedMedia struct {
	data     []byte
	mimeType string
}

// AddMedia registers a file as an inbound attachment and returns its media
// id, for an Inbound's Media or a hand-built webhook.
func (s *Server) AddMedia(data []byte, mimeType string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		// Meta's media ids are 15 or 16 digits.
		id := strconv.FormatUint(1e15+rand.Uint64N(9e15), 10)
		if _, taken := s.media[id]; !taken {
			s.media[id] = storedMedia{data: append([]byte(nil), data...), mimeType: mimeType}
			return id
		}
	}
}

// mediaInfo handles GET /{version}/{media-id}: the file's metadata and a
// download URL that, like Meta's, needs the access token too.
func (s *Server) mediaInfo(w http.ResponseWriter, r *http.Request, id string) {
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	m, ok := s.media[id]
	s.mu.Unlock()
	if !ok {
		s.refuse(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation", id), "")
		return
	}
	sum := sha256.Sum256(m.data)
	q := url.Values{"mid": {id}, "ext": {strconv.FormatInt(1e9, 10)}, "hash": {s.downloadHash(id)}}
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"url":               s.srv.URL + downloadPath + "?" + q.Encode(),
		"mime_type":         m.mimeType,
		"sha256":            hex.EncodeToString(sum[:]),
		"file_size":         strconv.Itoa(len(m.data)),
		"id":                id,
	})
}

// download serves a file at the URL mediaInfo answered.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	id := r.URL.Query().Get("mid")
	s.mu.Lock()
	m, ok := s.media[id]
	s.mu.Unlock()
	if !ok || !hmac.Equal([]byte(r.URL.Query().Get("hash")), []byte(s.downloadHash(id))) {
		s.refuse(w, http.StatusNotFound, 100, 0, "media download URL is not one the fake answered", "")
		return
	}
	w.Header().Set("Content-Type", m.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = w.Write(m.data)
}

// downloadHash ties a download URL to the media id it was answered for.
func (s *Server) downloadHash(id string) string {
	mac := hmac.New(sha256.New, []byte(s.cfg.AppSecret))
	mac.Write([]byte("media:" + id))
	return hex.EncodeToString(mac.Sum(nil))
}
