// Package migrations holds the versioned SQL schema, one folder per dialect,
// embedded so the binary migrates itself.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
