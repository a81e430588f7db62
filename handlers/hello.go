// Package handlers translates between HTTP or WebSocket and the chat's
// services. Handlers are thin: they hold their dependencies and no state.
package handlers

import "github.com/gofiber/fiber/v2"

// Hello answers every request that no other route serves with the plain
// text "Hello world", as Bun's guide does.
func Hello(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.SendString("Hello world")
}
