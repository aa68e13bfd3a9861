// Package static embeds the files served under /static.
package static

import "embed"

// FS holds css/ and the vendored htmx with its WebSocket extension (make vendor-js).
//
//go:embed css htmx.min.js htmx-ext-ws.min.js
var FS embed.FS
