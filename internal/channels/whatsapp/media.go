package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/internal/errs"
)

// mediaURL is where an inbound media id's metadata lives: the URL that
// Inbound media carry and FetchMedia takes.
func (p *Provider) mediaURL(id string) string {
	return p.base + "/" + url.PathEscape(id)
}

// FetchMedia downloads inbound media in Meta's two steps: GET
// {base}/{media-id} answers the file's short-lived URL and type, then GET
// that URL, both with the access token. rawURL must be one Parse produced
// ({base}/{media-id}), so the token goes to no other host first.
func (p *Provider) FetchMedia(ctx context.Context, rawURL string) (io.ReadCloser, string, error) {
	id, ok := strings.CutPrefix(rawURL, p.base+"/")
	if !ok || id == "" || strings.ContainsAny(id, "/?#") {
		return nil, "", errs.Invalidf("%q is not a WhatsApp media URL of this account", rawURL)
	}
	resp, err := p.get(ctx, rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: looking up media %s: %w", id, err)
	}
	var meta struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&meta)
	resp.Body.Close()
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: media %s metadata: %w", id, err)
	}
	if u, err := url.Parse(meta.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("whatsapp: media %s metadata has no download URL", id)
	}
	resp, err = p.get(ctx, meta.URL)
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: downloading media %s: %w", id, err)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(ct, "application/octet-stream") {
		// The download host may not know the type; the metadata does.
		ct = meta.MimeType
	}
	return resp.Body, ct, nil
}
