from gkflow.domain.masking import mask_id_number, mask_name, mask_phone


def test_personal_data_is_masked_as_the_privacy_law_examples_show():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("13912345678") == "139****5678"
    assert mask_id_number("630101199001011234") == "6301**********1234"
    assert mask_name("") == "" and mask_phone(None) == ""
