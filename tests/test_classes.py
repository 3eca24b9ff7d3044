import numpy as np
import pytest

from lggseg import classes
from lggseg.classes import IVYGAP_8, LGG_4, ivygap_to_lgg


def test_ivygap_order_matches_gbm_wssm_output():
    assert IVYGAP_8.codes == ("LE", "IT", "CT", "CTpnz", "CTpan", "CTmvp", "CTne", "BG")
    assert LGG_4.codes == ("BG", "CT", "LE", "IT")


def test_rgb_round_trip(rng):
    mask = rng.integers(0, 8, size=(17, 9)).astype(np.uint8)
    assert np.array_equal(IVYGAP_8.decode_rgb(IVYGAP_8.encode_rgb(mask)), mask)


def test_unknown_colour_is_named_with_pixel_count():
    rgb = IVYGAP_8.encode_rgb(np.zeros((4, 4), np.uint8))
    rgb[0, :3] = (1, 2, 3)
    with pytest.raises(ValueError, match=r"mask\.png.*\(1, 2, 3\): 3 px"):
        IVYGAP_8.decode_rgb(rgb, source="mask.png")


def test_8_to_4_mapping_folds_ct_subregions():
    lut = ivygap_to_lgg().lookup()
    expected = {"LE": "LE", "IT": "IT", "CT": "CT", "CTpnz": "CT", "CTpan": "CT",
                "CTmvp": "CT", "CTne": "CT", "BG": "BG"}
    for code, target in expected.items():
        assert lut[IVYGAP_8.index(code)] == LGG_4.index(target)
    assert ivygap_to_lgg(table={"CTne": "BG"}).lookup()[IVYGAP_8.index("CTne")] == 0


def test_mapping_rejects_unknown_class():
    with pytest.raises(ValueError, match="valid"):
        ivygap_to_lgg(table={"XX": "CT"})


def test_palette_round_trip(tmp_path):
    path = classes.write_palette(LGG_4, tmp_path / "palette.tsv")
    assert classes.read_palette(path) == LGG_4


@pytest.mark.realdata
def test_shipped_palette_equals_builtin(ivygap_dir):
    assert classes.read_palette(ivygap_dir / "palette.tsv") == IVYGAP_8


def test_scheme_for_num_classes_is_the_built_in_fallback():
    assert classes.scheme_for_num_classes(4) is LGG_4
    assert classes.scheme_for_num_classes(8) is IVYGAP_8
    with pytest.raises(ValueError, match=r"No built-in class scheme has 5 classes; built-in: 8 \(LE, .*4 \(BG, CT, LE, IT\)"):
        classes.scheme_for_num_classes(5)
