package middleware

import (
	"net"
	"net/url"
	"strings"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
)

// Origin refuses, with 403, a WebSocket upgrade sent by a page of another
// site. Cookies name the user, so without this check any page could open a
// socket as its visitor (cross-site WebSocket hijacking).
//
// An upgrade passes when it has no Origin header (curl, websocat and Go
// clients send none; browsers always do), when its Origin is the server's
// own (same scheme, host and port as the request), or when its Origin is in
// allowed; "*" in allowed lets every origin through. Requests that are not
// upgrades always pass.
func Origin(allowed []string) fiber.Handler {
	allowAll := false
	list := make(map[string]bool, len(allowed))
	for _, o := range allowed {
		if o == "*" {
			allowAll = true
		}
		list[normalOrigin(o)] = true
	}
	return func(c *fiber.Ctx) error {
		origin := c.Get(fiber.HeaderOrigin)
		if origin == "" || allowAll || !websocket.IsWebSocketUpgrade(c) {
			return c.Next()
		}
		o := normalOrigin(origin)
		if o != "" && (o == normalOrigin(c.Protocol()+"://"+c.Hostname()) || list[o]) {
			return c.Next()
		}
		return c.Status(fiber.StatusForbidden).SendString("origin not allowed\n")
	}
}

// plainHost reports whether h is a host name or IP address as browsers send
// it in Origin: ASCII letters, digits, '.', '-', and ':' for IPv6.
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}

// normalOrigin returns origin as lowercase "scheme://host:port" with the
// scheme's default port made explicit, or "" when it is not an origin.
func normalOrigin(origin string) string {
	u, err := url.Parse(strings.ToLower(origin))
	if err != nil || !plainHost(u.Hostname()) || (u.Path != "" && u.Path != "/") || u.User != nil {
		return ""
	}
	var port string
	switch u.Scheme {
	case "http", "ws":
		port = "80"
	case "https", "wss":
		port = "443"
	default:
		return ""
	}
	if p := u.Port(); p != "" {
		port = p
	}
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port)
}
