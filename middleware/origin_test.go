package middleware_test

import (
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/chatserver/chat/middleware"
)

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed []string
		host    string
		origin  string
		upgrade bool
		want    int
	}{
		{"no origin (curl, Go clients)", nil, "chat.example", "", true, http.StatusOK},
		{"same origin", nil, "chat.example", "http://chat.example", true, http.StatusOK},
		{"same origin, explicit default port", nil, "chat.example", "http://chat.example:80", true, http.StatusOK},
		{"same origin, case differs", nil, "Chat.Example", "http://chat.EXAMPLE", true, http.StatusOK},
		{"same origin with port", nil, "127.0.0.1:3000", "http://127.0.0.1:3000", true, http.StatusOK},
		{"other port", nil, "127.0.0.1:3000", "http://127.0.0.1:4000", true, http.StatusForbidden},
		{"other scheme", nil, "chat.example", "https://chat.example", true, http.StatusForbidden},
		{"other site", nil, "chat.example", "https://evil.example", true, http.StatusForbidden},
		{"null origin", nil, "chat.example", "null", true, http.StatusForbidden},
		{"look-alike suffix", nil, "chat.example", "http://chat.example.evil.example", true, http.StatusForbidden},
		{"allow-listed", []string{"https://app.example"}, "chat.example", "https://app.example", true, http.StatusOK},
		{"allow-listed with default port", []string{"https://app.example:443"}, "chat.example", "https://app.example", true, http.StatusOK},
		{"not on the allow-list", []string{"https://app.example"}, "chat.example", "https://evil.example", true, http.StatusForbidden},
		{"wildcard", []string{"*"}, "chat.example", "https://evil.example", true, http.StatusOK},
		{"not an upgrade", nil, "chat.example", "https://evil.example", false, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New()
			app.Use(middleware.Origin(tc.allowed), func(c *fiber.Ctx) error { return c.SendString("ok") })
			req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+"/", nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.upgrade {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
			}
			resp, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
