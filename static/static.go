// Package static holds the chat page's script and stylesheet, embedded into
// the binary. The page loads nothing from anywhere else.
package static

import (
	"embed"
	"io/fs"
)

//go:embed *.js *.css
var files embed.FS

// FS returns the static files, rooted at this folder.
func FS() fs.FS { return files }
