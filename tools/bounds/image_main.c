/* image_main.c - the empty program keel_bounds_image links libkeel's objects
 * into, so that scripts/gen-bounds.sh analyses them with direct internal calls
 * (docs/bounds.md says why not libkeel.so). Never run. */
int main(void) {
    return 0;
}
