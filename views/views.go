// Package views holds the HTML templates of the chat server, embedded into
// the binary so that it serves its page from any working directory.
package views

import (
	"embed"
	"html/template"
)

//go:embed *.html
var files embed.FS

// Chat is the data the chat page is rendered with.
type Chat struct {
	Title      string // shown in the tab and the heading
	SocketPath string // path of the WebSocket endpoint, on the page's own host
}

// ChatPage parses the chat page template.
func ChatPage() (*template.Template, error) {
	return template.ParseFS(files, "chat.html")
}
