// Package middleware holds the Fiber middleware of the chat server.
package middleware

import (
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
)

// UsernameCookie is the cookie that carries the user name, as in Bun's guide.
const UsernameCookie = "username"

// UsernameKey is the Locals key under which Username stores the name.
const UsernameKey = "username"

// MaxNameLen is the longest accepted name, in characters.
const MaxNameLen = 32

// Errors from ParseName; their text is the reason a client is told.
var (
	ErrNoName       = errors.New("missing username cookie")
	ErrBadEncoding  = errors.New("username is not valid percent-encoding")
	ErrNotUTF8      = errors.New("username is not valid UTF-8")
	ErrEmptyName    = errors.New("username is empty")
	ErrNameTooLong  = errors.New("username is longer than 32 characters")
	ErrBadCharacter = errors.New("username may hold only letters, digits, spaces and . _ -")
)

// Username resolves the username cookie into Locals under UsernameKey.
// A WebSocket upgrade without a valid name is refused with 401 and a
// one-line plain-text reason before the socket opens; other requests pass
// through whether they carry a name or not.
func Username() fiber.Handler {
	return func(c *fiber.Ctx) error {
		name, err := ParseName(c.Cookies(UsernameCookie))
		if err == nil {
			c.Locals(UsernameKey, name)
			return c.Next()
		}
		if websocket.IsWebSocketUpgrade(c) {
			return c.Status(fiber.StatusUnauthorized).SendString(err.Error() + "\n")
		}
		return c.Next()
	}
}

// ParseName decodes and checks a raw username cookie value: it is
// URL-decoded (as the page encodes it), trimmed of spaces, and must then be
// 1 to MaxNameLen characters: letters and digits of any script (with their
// combining marks), spaces, '.', '_' and '-'.
func ParseName(raw string) (string, error) {
	if raw == "" {
		return "", ErrNoName
	}
	if len(raw) > 4*3*MaxNameLen {
		// Longer than any percent-encoded valid name: say so without decoding.
		return "", ErrNameTooLong
	}
	name, err := url.PathUnescape(raw)
	if err != nil {
		return "", ErrBadEncoding
	}
	if !utf8.ValidString(name) {
		return "", ErrNotUTF8
	}
	name = strings.Trim(name, " ")
	if name == "" {
		return "", ErrEmptyName
	}
	if utf8.RuneCountInString(name) > MaxNameLen {
		return "", ErrNameTooLong
	}
	for i, r := range name {
		if !nameRune(r, i == 0) {
			return "", ErrBadCharacter
		}
	}
	return name, nil
}

func nameRune(r rune, first bool) bool {
	switch {
	case unicode.IsLetter(r), unicode.IsDigit(r):
		return true
	case unicode.IsMark(r):
		return !first
	default:
		return r == ' ' || r == '.' || r == '_' || r == '-'
	}
}
