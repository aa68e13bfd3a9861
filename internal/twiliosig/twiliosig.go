// Package twiliosig computes X-Twilio-Signature the way Twilio signs its
// webhooks, so that stock validators (twilio-go's RequestValidator and its
// siblings) accept requests we send. twilio-go validates but exports no
// signer.
package twiliosig

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Header is the name of the signature header.
const Header = "X-Twilio-Signature"

// Sign returns base64(HMAC-SHA1(authToken, fullURL + each form parameter's
// name and value, sorted by name)). For GET requests and JSON bodies the
// parameters are already in the URL and params is empty.
func Sign(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		vs := slices.Clone(params[k])
		slices.Sort(vs) // Twilio sorts repeated values too
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
