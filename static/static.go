// Package static embeds the files served under /static.
package static

import "embed"

// FS holds css/ (and, in later work, vendored htmx, the webchat loader, icons and sounds).
//
//go:embed css
var FS embed.FS
