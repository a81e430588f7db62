package middleware_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/chatserver/chat/middleware"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
		err             error
	}{
		{"plain", "alice", "alice", nil},
		{"percent-encoded space and accent", "Zo%C3%AB%20M", "Zoë M", nil},
		{"trimmed", "%20%20bob%20", "bob", nil},
		{"allowed punctuation", "a.b_c-d", "a.b_c-d", nil},
		{"other scripts", "%E4%BD%A0%E5%A5%BD", "你好", nil},
		{"combining mark after a letter", "नमस्ते", "नमस्ते", nil},
		{"digits", "user42", "user42", nil},
		{"exactly 32 characters", strings.Repeat("é", 32), strings.Repeat("é", 32), nil},
		{"plus stays a plus sign", "a+b", "", middleware.ErrBadCharacter},
		{"missing", "", "", middleware.ErrNoName},
		{"only spaces", "%20%20", "", middleware.ErrEmptyName},
		{"33 characters", strings.Repeat("a", 33), "", middleware.ErrNameTooLong},
		{"10 KiB", strings.Repeat("a", 10<<10), "", middleware.ErrNameTooLong},
		{"control character", "a%00b", "", middleware.ErrBadCharacter},
		{"newline", "a%0Ab", "", middleware.ErrBadCharacter},
		{"tab", "a%09b", "", middleware.ErrBadCharacter},
		{"markup", "%3Cscript%3E", "", middleware.ErrBadCharacter},
		{"colon would fake a message", "bob%3A%20hi", "", middleware.ErrBadCharacter},
		{"leading combining mark", "%CC%81a", "", middleware.ErrBadCharacter},
		{"truncated escape", "abc%2", "", middleware.ErrBadEncoding},
		{"bad escape", "a%zzb", "", middleware.ErrBadEncoding},
		{"not UTF-8", "%C3%28", "", middleware.ErrNotUTF8},
		{"zero-width space", "a%E2%80%8Bb", "", middleware.ErrBadCharacter},
		{"right-to-left override", "a%E2%80%AEb", "", middleware.ErrBadCharacter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := middleware.ParseName(tc.raw)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("ParseName(%q) = %q, %v; want %q, %v", tc.raw, got, err, tc.want, tc.err)
			}
		})
	}
}

// FuzzParseName checks the promise ParseName makes for every input: either
// an error, or a name of 1 to 32 characters that is valid UTF-8, has no
// surrounding spaces and holds only allowed characters.
func FuzzParseName(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzParseName.
	f.Fuzz(func(t *testing.T, raw string) {
		name, err := middleware.ParseName(raw)
		if err != nil {
			if name != "" {
				t.Fatalf("ParseName(%q) returned %q with error %v", raw, name, err)
			}
			return
		}
		n := utf8.RuneCountInString(name)
		if !utf8.ValidString(name) || n < 1 || n > middleware.MaxNameLen {
			t.Fatalf("ParseName(%q) = %q: %d characters or invalid UTF-8", raw, name, n)
		}
		if strings.TrimSpace(name) != name {
			t.Fatalf("ParseName(%q) = %q: surrounding space", raw, name)
		}
		for _, r := range name {
			ok := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || strings.ContainsRune(" ._-", r)
			if !ok {
				t.Fatalf("ParseName(%q) = %q: holds %U", raw, name, r)
			}
		}
	})
}
