package configs

// RootOverlay makes the container's root an overlay: the rootfs (and any
// extra Lower layers above it) read-only below, and an upper layer of its
// own that holds every change the container makes.
type RootOverlay struct {
	// Lower are extra read-only layers, absolute, topmost first; the
	// rootfs is always the bottom layer.
	Lower []string `json:"lower,omitempty"`
	// Dir holds the container's "upper" and "work" directories, in
	// Dir/<id>/ when given, else in the container's state dir.
	Dir string `json:"dir,omitempty"`
	// Keep leaves Dir/<id>/upper (the diff) on delete; it needs Dir.
	Keep bool `json:"keep,omitempty"`
}
