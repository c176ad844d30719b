package specconv

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLinuxSpecMirrorsSpec: linuxSpec has every field of specs.Spec, by
// name and tag, with Spec's own type for the Linux sections and a raw
// message for the others. A runtime-spec upgrade that adds or changes a
// field fails here until linuxSpec and decodeSpec follow it.
func TestLinuxSpecMirrorsSpec(t *testing.T) {
	raw := reflect.TypeOf(json.RawMessage{})
	st, mt := reflect.TypeOf(specs.Spec{}), reflect.TypeOf(linuxSpec{})
	if st.NumField() != mt.NumField() {
		t.Fatalf("specs.Spec has %d fields, linuxSpec %d", st.NumField(), mt.NumField())
	}
	others := map[string]bool{"Solaris": true, "Windows": true, "VM": true, "ZOS": true, "FreeBSD": true}
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		mf, ok := mt.FieldByName(sf.Name)
		switch {
		case !ok:
			t.Errorf("linuxSpec has no field %s", sf.Name)
		case mf.Tag != sf.Tag:
			t.Errorf("%s: tag %q, specs.Spec's is %q", sf.Name, mf.Tag, sf.Tag)
		case others[sf.Name] && mf.Type != raw:
			t.Errorf("%s: type %v, want json.RawMessage", sf.Name, mf.Type)
		case !others[sf.Name] && mf.Type != sf.Type:
			t.Errorf("%s: type %v, specs.Spec's is %v", sf.Name, mf.Type, sf.Type)
		}
	}
}

// TestDecodeSpecAsUnmarshal: decodeSpec gives what json.Unmarshal into
// specs.Spec gives, value and error, for configs with and without other
// platforms' sections, good and bad.
func TestDecodeSpecAsUnmarshal(t *testing.T) {
	example, err := json.Marshal(Example())
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"example":              string(example),
		"empty":                `{}`,
		"minimal":              withVersion("1.2.0"),
		"hooks":                `{"ociVersion":"1.0.0","hooks":{"prestart":[{"path":"/bin/true","args":["true"],"timeout":3}]}}`,
		"windows":              `{"ociVersion":"1.0.0","windows":{"layerFolders":["C:\\a"]},"hostname":"h"}`,
		"windows null":         `{"ociVersion":"1.0.0","windows":null}`,
		"vm":                   `{"ociVersion":"1.0.0","vm":{"hypervisor":{"path":"/q"},"kernel":{"path":"/k"}}}`,
		"zos":                  `{"ociVersion":"1.0.0","zos":{"namespaces":[{"type":"pid"}]}}`,
		"freebsd":              `{"ociVersion":"1.0.0","freebsd":{"jail":{"parent":"p"}}}`,
		"solaris":              `{"ociVersion":"1.0.0","solaris":{"milestone":"m"}}`,
		"bad windows":          `{"ociVersion":"1.0.0","windows":{"layerFolders":"C:\\a"}}`,
		"bad windows, process": `{"ociVersion":"1.0.0","windows":{"layerFolders":"C:\\a"},"process":{"args":"sh"}}`,
		"bad process":          `{"ociVersion":"1.0.0","process":{"args":"sh"},"windows":{"layerFolders":5}}`,
		"bad linux":            `{"ociVersion":"1.0.0","linux":{"namespaces":{}}}`,
		"bad top":              `{"ociVersion":1}`,
		"syntax":               `{"ociVersion":"1.0.0",}`,
		"truncated":            `{"ociVersion":"1.0.0","linux":{`,
		"not an object":        `[1]`,
		"unknown":              `{"ociVersion":"1.0.0","notInSpec":{"a":[1]},"linux":{"newThing":2}}`,
	} {
		var want specs.Spec
		wantErr := json.Unmarshal([]byte(text), &want)
		got, err := decodeSpec([]byte(text))
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Errorf("%s: error %v, json.Unmarshal's is %v", name, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: decoded %+v, json.Unmarshal gives %+v", name, *got, want)
		}
	}
}

// TestKnownVersion: knownVersion is the regular expression it replaced, on
// every string of up to 7 characters over an alphabet of the characters
// that matter, and on the versions engines send.
func TestKnownVersion(t *testing.T) {
	re := regexp.MustCompile(`^1\.[0-3]\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	for _, v := range []string{"1.0.0", "1.0.2-dev", "1.1.0-rc.1", "1.2.1", "1.3.0+dev", "1.3.0-rc.1+b.2",
		"1.0.10", "1.0.01", "1.4.0", "1.0", "1.0.", "1.0.0-", "1.0.0+", "1.0.0-a+", "1.0.0+a-b", "1.0.0+a+b",
		"1.0.0-a_b", "v1.0.0", "1.0.0 ", "11.0.0", "1.0.0\n", "１.0.0"} {
		if got, want := knownVersion(v), re.MatchString(v); got != want {
			t.Errorf("%q: knownVersion %v, the expression %v", v, got, want)
		}
	}
	const alphabet = "01349.-+a_"
	var walk func(prefix string)
	walk = func(prefix string) {
		if got, want := knownVersion(prefix), re.MatchString(prefix); got != want {
			t.Fatalf("%q: knownVersion %v, the expression %v", prefix, got, want)
		}
		if len(prefix) == 7 {
			return
		}
		start := alphabet
		if len(prefix) < 4 { // "1.[0-3]." first, or little is tested
			start = "1.03"
		}
		for i := 0; i < len(start); i++ {
			walk(prefix + start[i:i+1])
		}
	}
	walk("")
}
