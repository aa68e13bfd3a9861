// Package static embeds the files served under /static.
package static

import "embed"

// FS holds css/, the vendored htmx with its WebSocket extension (make
// vendor-js), and the webchat loader (webchat.js) with its frame's script
// and styles (webchat/), the agent desktop's script and styles
// (desktop/), and the supervisor and admin console's (console/).
//
//go:embed css htmx.min.js htmx-ext-ws.min.js webchat.js webchat desktop console
var FS embed.FS
