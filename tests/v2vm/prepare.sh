# shellcheck shell=bash
# Sourced by run.sh: fetches the guest kernel and builds the initramfs into
# $V2VM_CACHE, reusing both while their inputs are unchanged.

V2VM_CACHE=${V2VM_CACHE:-/var/cache/tekapo-v2vm}
PATH=$PATH:/usr/sbin:/sbin # depmod, modprobe
V2VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Loaded from the initramfs, in this order; everything else loads on demand
# from the kernel's module tree, which the guest sees at /lib/modules.
V2VM_BOOT_MODULES="virtio_pci virtio_console 9pnet_virtio 9p overlay i6300esb"

# v2vm_kernel_pkg prints the Debian kernel package to use.
v2vm_kernel_pkg() {
	if [[ -n ${V2VM_KERNEL_PKG:-} ]]; then echo "$V2VM_KERNEL_PKG"; return; fi
	if [[ -s $V2VM_CACHE/current ]]; then cat "$V2VM_CACHE/current"; return; fi
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-6\.1\.[^ ]*-amd64\)$/\1/p' | head -1)
	[[ -n $pkg ]] || { echo "v2vm: no linux-image-6.1 found via linux-image-amd64; set V2VM_KERNEL_PKG" >&2; return 1; }
	echo "$pkg"
}

# v2vm_fetch_kernel PKG DIR: download, unpack, decompress vmlinuz, run depmod.
v2vm_fetch_kernel() {
	local pkg=$1 dir=$2 tmp vmlinuz off kver
	tmp=$(mktemp -d "$V2VM_CACHE/fetch.XXXXXX")
	chmod 0777 "$tmp" # apt's _apt user downloads into it
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null)
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	vmlinuz=$(echo "$tmp"/root/boot/vmlinuz-*)
	kver=${vmlinuz##*/vmlinuz-}
	# The bzImage payload is xz; booting the plain ELF (PVH) skips decompression.
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
	tail -c +"$((off + 1))" "$vmlinuz" | xz -dcq >"$tmp/vmlinux" 2>/dev/null || true
	[[ $(head -c4 "$tmp/vmlinux" | od -An -c | tr -d ' ') == 177ELF ]] ||
		{ echo "v2vm: cannot extract vmlinux from $vmlinuz" >&2; return 1; }
	depmod -b "$tmp/root" "$kver"
	echo "$kver" >"$tmp/kver"
	rm -f "$tmp"/*.deb
	chmod 0755 "$tmp"
	mv -T "$tmp" "$dir"
}

# The callers hold a lock on $V2VM_CACHE/.lock around v2vm_kernel and v2vm_initramfs.

# v2vm_kernel sets KDIR (unpacked kernel) and KVER, fetching on first use.
v2vm_kernel() {
	local pkg
	rm -rf "$V2VM_CACHE"/fetch.* "$V2VM_CACHE"/initrd.* # left by an interrupted build
	pkg=$(v2vm_kernel_pkg)
	KDIR=$V2VM_CACHE/$pkg
	if [[ ! -s $KDIR/kver ]]; then
		echo "v2vm: fetching $pkg into $KDIR" >&2
		v2vm_fetch_kernel "$pkg" "$KDIR"
	fi
	[[ -s $V2VM_CACHE/current ]] || echo "$pkg" >"$V2VM_CACHE/current"
	KVER=$(cat "$KDIR/kver")
}

# v2vm_initramfs sets INITRD, building it when its inputs changed.
v2vm_initramfs() {
	local mods key tmp m
	# shellcheck disable=SC2086 # a list of names
	mods=$(modprobe -d "$KDIR/root" -S "$KVER" --show-depends -a $V2VM_BOOT_MODULES |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
	key=$(cat "$V2VM_DIR/init" "$V2VM_DIR/init2" /bin/busybox <(echo "$KVER $mods") | sha256sum | cut -c1-16)
	INITRD=$V2VM_CACHE/initrd-$key.cpio
	# Other worktrees' runs may boot another init: keep their images a while.
	find "$V2VM_CACHE" -maxdepth 1 -name 'initrd-*.cpio' -mmin +120 -delete
	[[ -s $INITRD ]] && { touch "$INITRD"; return; }
	tmp=$(mktemp -d "$V2VM_CACHE/initrd.XXXXXX")
	mkdir -p "$tmp"/{bin,dev,proc,sys,newroot,modules}
	cp /bin/busybox "$tmp/bin/busybox"
	cp "$V2VM_DIR/init" "$V2VM_DIR/init2" "$tmp/"
	for m in $mods; do
		cp "$m" "$tmp/modules/"
		echo "${m##*/}" >>"$tmp/modules/order"
	done
	(cd "$tmp" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) >"$tmp.cpio"
	rm -rf "$tmp"
	mv "$tmp.cpio" "$INITRD"
}
