package middleware

import (
	"strings"
	"testing"
)

// FuzzNormalOrigin checks normalOrigin, which parses the client's Origin
// header: it never panics, and what it returns is "" or a lowercase
// scheme://host:port that normalizes to itself.
func FuzzNormalOrigin(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzNormalOrigin.
	f.Fuzz(func(t *testing.T, origin string) {
		o := normalOrigin(origin)
		if o == "" {
			return
		}
		if o != strings.ToLower(o) {
			t.Fatalf("normalOrigin(%q) = %q: not lowercase", origin, o)
		}
		if again := normalOrigin(o); again != o {
			t.Fatalf("normalOrigin(%q) = %q, but that normalizes to %q", origin, o, again)
		}
	})
}
