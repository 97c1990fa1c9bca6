package signer

import (
	"bytes"
	"errors"
	"testing"

	"treelog/metamanifest"
)

const sampleText = "treelog-metamanifest/v1\norigin example.org/tree\ntimestamp 2026-03-01T12:00:00Z\n" +
	"manifest 42 BLAKE2B " + hex128 + " SHA512 " + hex128 + "\n"

const hex128 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(RequestHeader + "\n" + sampleText))
	f.Add([]byte(RequestHeader + "\n" + sampleText + "commit abc\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseRequest(data)
		if err != nil {
			return
		}
		if !bytes.Equal(MarshalRequest(m), data) {
			t.Fatalf("round trip of %q", data)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add(MarshalOK([]byte("a note\n")))
	f.Add(MarshalRefusal(CodeLocked, "locked since then"))
	f.Fuzz(func(t *testing.T, data []byte) {
		body, err := ParseResponse(data)
		var re *RefusedError
		switch {
		case errors.As(err, &re):
			_, err2 := ParseResponse(MarshalRefusal(re.Code, re.Message))
			var re2 *RefusedError
			if !errors.As(err2, &re2) || re2.Code != re.Code {
				t.Fatalf("refusal %q does not round trip: %v", data, err2)
			}
		case err == nil:
			if !bytes.Equal(MarshalOK(body), data) {
				t.Fatalf("round trip of %q", data)
			}
		}
	})
}

func TestRequestRoundTrip(t *testing.T) {
	m, err := metamanifest.ParseText(sampleText)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRequest(MarshalRequest(m))
	if err != nil || got.Text() != sampleText {
		t.Fatalf("%v\n%s", err, got.Text())
	}
	for _, bad := range []string{"", sampleText, RequestHeader + "\n", RequestHeader + " \n" + sampleText} {
		if _, err := ParseRequest([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseResponse([]byte("error locked locked since x\n")); err == nil || err.Error() != "the signing daemon refused (locked): locked since x" {
		t.Errorf("refusal: %v", err)
	}
	for _, bad := range []string{"", "ok", "error \n", "error x", "error x y\nz\n", "OK\n"} {
		if _, err := ParseResponse([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		} else if re := (*RefusedError)(nil); errors.As(err, &re) {
			t.Errorf("%q taken as a refusal %+v", bad, re)
		}
	}
}
