package handlers

import (
	"bytes"
	"fmt"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/chatserver/chat/views"
)

// Page serves the chat page. The page is the same for everyone, so it is
// rendered once, when the handler is built.
func Page(tmpl *template.Template, data views.Chat) (fiber.Handler, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render chat page: %w", err)
	}
	body := buf.Bytes()
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Send(body)
	}, nil
}
