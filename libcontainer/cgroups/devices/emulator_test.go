package devices

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64 { return &v }

// A typical OCI default: deny all, then the standard devices.
var defaultSpec = []specs.LinuxDeviceCgroup{
	{Allow: false, Access: "rwm"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}, // null
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"}, // zero
	{Allow: true, Type: "c", Major: i64(136), Access: "rwm"},              // pts/*
	{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "r"},
	{Allow: false, Type: "c", Major: i64(1), Minor: i64(5), Access: "w"},
	{Allow: true, Type: "b", Access: "m"},
}

func TestAllowed(t *testing.T) {
	rules, err := FromSpec(defaultSpec)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		req  Request
		want bool
	}{
		{"null rw", Request{Char, 1, 3, Read | Write}, true},
		{"null as block", Request{Block, 1, 3, Read}, false},
		{"random", Request{Char, 1, 8, Read}, false},
		{"zero read", Request{Char, 1, 5, Read}, true},
		{"zero write denied by later rule", Request{Char, 1, 5, Write}, false},
		{"zero rw denied: one bit is denied", Request{Char, 1, 5, Read | Write}, false},
		{"pts any minor", Request{Char, 136, 42, Read | Write}, true},
		{"tun read only", Request{Char, 10, 200, Read}, true},
		{"tun write", Request{Char, 10, 200, Write}, false},
		{"tun rw needs both", Request{Char, 10, 200, Read | Write}, false},
		{"block mknod", Request{Block, 8, 0, Mknod}, true},
		{"block read", Request{Block, 8, 0, Read}, false},
	} {
		if got := Allowed(rules, c.req); got != c.want {
			t.Errorf("%s: Allowed = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAllowedEdgeLists(t *testing.T) {
	req := Request{Char, 1, 3, Read}
	if Allowed(nil, req) {
		t.Error("no rules must deny")
	}
	all, _ := FromSpec([]specs.LinuxDeviceCgroup{{Allow: true}})
	if !Allowed(all, req) {
		t.Error("allow-all must allow")
	}
	reset, _ := FromSpec([]specs.LinuxDeviceCgroup{{Allow: true}, {Allow: false}})
	if Allowed(reset, req) {
		t.Error("a later deny-all must win")
	}
}

func TestFromSpecErrors(t *testing.T) {
	for _, d := range []specs.LinuxDeviceCgroup{
		{Type: "x"}, {Type: "c", Access: "xa"}, {Type: "c", Major: i64(-2)},
	} {
		if _, err := FromSpec([]specs.LinuxDeviceCgroup{d}); err == nil {
			t.Errorf("%+v accepted", d)
		}
	}
}

// TestAccessNormalised: access letters in any order and number, other
// letters ignored, as runc 1.1.5 and current runc read them ("rwa" is rw,
// "mrw" is rwm, "rrw" is rw).
func TestAccessNormalised(t *testing.T) {
	for in, want := range map[string]string{"rwa": "c 1:1 rw", "mrw": "c 1:1 rwm", "rrw": "c 1:1 rw", "wm": "c 1:1 wm"} {
		rules, err := FromSpec([]specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(1), Minor: i64(1), Access: in}})
		if err != nil || len(rules) != 1 || rules[0].V1Line() != want {
			t.Errorf("%q: got %v %v, want %s", in, rules, err, want)
		}
	}
}

func TestV1Lines(t *testing.T) {
	rules, _ := FromSpec(defaultSpec)
	var got []string
	for _, r := range rules {
		got = append(got, r.V1File()+" "+r.V1Line())
	}
	want := "devices.deny a *:* rwm|devices.allow c 1:3 rwm|devices.allow c 1:5 rwm|devices.allow c 136:* rwm|" +
		"devices.allow c 10:200 r|devices.deny c 1:5 w|devices.allow b *:* m"
	if strings.Join(got, "|") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
}
